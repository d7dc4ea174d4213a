"""Geo commands (Redis's geo.c, geohash.c, geohash_helper.c).

A geo set is a sorted set whose scores are 52-bit interleaved geohashes
(26 bits of latitude in the even positions, 26 of longitude in the odd
ones), computed with the same double arithmetic as Redis so that scores,
positions and distances match real Redis bit for bit.  Searches cover the
shape with the geohash box of the centre and its eight neighbours and
filter the members of those score ranges by real distance (the haversine
formula on Redis's earth radius).
"""

from __future__ import annotations

import math

from ..protocol import NULL_ARRAY, CommandError, Raw
from ..table import DENYOOM, MOVABLEKEYS, READONLY, WRITE, command
from .util import NOT_INTEGER, SYNTAX, parse_int
from .zsets import ZSet, parse_score, store_zset, zadd_generic

GEO_STEP_MAX = 26
GEO_LAT_MIN = -85.05112878
GEO_LAT_MAX = 85.05112878
GEO_LONG_MIN = -180.0
GEO_LONG_MAX = 180.0

D_R = math.pi / 180.0
EARTH_RADIUS_IN_METERS = 6372797.560856
MERCATOR_MAX = 20037726.37

_MASK64 = (1 << 64) - 1
_sin = math.sin
_cos = math.cos
_asin = math.asin
_sqrt = math.sqrt


# --------------------------------------------------------------------------
# geohash.c
# --------------------------------------------------------------------------

def _interleave64(xlo: int, ylo: int) -> int:
    """Bits of ``xlo`` in the even positions, of ``ylo`` in the odd ones."""
    x = xlo & 0xFFFFFFFF
    y = ylo & 0xFFFFFFFF
    x = (x | (x << 16)) & 0x0000FFFF0000FFFF
    y = (y | (y << 16)) & 0x0000FFFF0000FFFF
    x = (x | (x << 8)) & 0x00FF00FF00FF00FF
    y = (y | (y << 8)) & 0x00FF00FF00FF00FF
    x = (x | (x << 4)) & 0x0F0F0F0F0F0F0F0F
    y = (y | (y << 4)) & 0x0F0F0F0F0F0F0F0F
    x = (x | (x << 2)) & 0x3333333333333333
    y = (y | (y << 2)) & 0x3333333333333333
    x = (x | (x << 1)) & 0x5555555555555555
    y = (y | (y << 1)) & 0x5555555555555555
    return (x | (y << 1)) & _MASK64


def _deinterleave64(interleaved: int) -> int:
    x = interleaved
    y = interleaved >> 1
    x = x & 0x5555555555555555
    y = y & 0x5555555555555555
    x = (x | (x >> 1)) & 0x3333333333333333
    y = (y | (y >> 1)) & 0x3333333333333333
    x = (x | (x >> 2)) & 0x0F0F0F0F0F0F0F0F
    y = (y | (y >> 2)) & 0x0F0F0F0F0F0F0F0F
    x = (x | (x >> 4)) & 0x00FF00FF00FF00FF
    y = (y | (y >> 4)) & 0x00FF00FF00FF00FF
    x = (x | (x >> 8)) & 0x0000FFFF0000FFFF
    y = (y | (y >> 8)) & 0x0000FFFF0000FFFF
    x = (x | (x >> 16)) & 0x00000000FFFFFFFF
    y = (y | (y >> 16)) & 0x00000000FFFFFFFF
    return x | (y << 32)


def geohash_encode(lon: float, lat: float, step: int = GEO_STEP_MAX,
                   lon_min: float = GEO_LONG_MIN, lon_max: float = GEO_LONG_MAX,
                   lat_min: float = GEO_LAT_MIN, lat_max: float = GEO_LAT_MAX) -> int:
    """geohashEncode(): the interleaved hash bits of a position (``step`` bits
    per coordinate).  The caller has checked the WGS84 bounds."""
    lat_offset = (lat - lat_min) / (lat_max - lat_min)
    long_offset = (lon - lon_min) / (lon_max - lon_min)
    lat_offset *= (1 << step)
    long_offset *= (1 << step)
    return _interleave64(int(lat_offset), int(long_offset))


def _decode_area(bits: int, step: int):
    """geohashDecode() on the WGS84 ranges: (lon_min, lon_max, lat_min, lat_max)."""
    sep = _deinterleave64(bits)
    ilato = sep & 0xFFFFFFFF
    ilono = (sep >> 32) & 0xFFFFFFFF
    lat_scale = GEO_LAT_MAX - GEO_LAT_MIN
    long_scale = GEO_LONG_MAX - GEO_LONG_MIN
    div = float(1 << step)
    return (GEO_LONG_MIN + (ilono * 1.0 / div) * long_scale,
            GEO_LONG_MIN + ((ilono + 1) * 1.0 / div) * long_scale,
            GEO_LAT_MIN + (ilato * 1.0 / div) * lat_scale,
            GEO_LAT_MIN + ((ilato + 1) * 1.0 / div) * lat_scale)


def decode_score(score: float):
    """decodeGeohash(): the (longitude, latitude) a score stands for."""
    try:
        bits = int(score) & _MASK64
    except (OverflowError, ValueError):
        bits = 0x8000000000000000
    lon_lo, lon_hi, lat_lo, lat_hi = _decode_area(bits, GEO_STEP_MAX)
    lon = (lon_lo + lon_hi) / 2
    if lon > GEO_LONG_MAX:
        lon = GEO_LONG_MAX
    if lon < GEO_LONG_MIN:
        lon = GEO_LONG_MIN
    lat = (lat_lo + lat_hi) / 2
    if lat > GEO_LAT_MAX:
        lat = GEO_LAT_MAX
    if lat < GEO_LAT_MIN:
        lat = GEO_LAT_MIN
    return lon, lat


def _move_x(bits: int, step: int, d: int) -> int:
    if d == 0:
        return bits
    x = bits & 0xAAAAAAAAAAAAAAAA
    y = bits & 0x5555555555555555
    zz = 0x5555555555555555 >> (64 - step * 2)
    if d > 0:
        x = x + (zz + 1)
    else:
        x = x | zz
        x = x - (zz + 1)
    x &= (0xAAAAAAAAAAAAAAAA >> (64 - step * 2))
    return x | y


def _move_y(bits: int, step: int, d: int) -> int:
    if d == 0:
        return bits
    x = bits & 0xAAAAAAAAAAAAAAAA
    y = bits & 0x5555555555555555
    zz = 0xAAAAAAAAAAAAAAAA >> (64 - step * 2)
    if d > 0:
        y = y + (zz + 1)
    else:
        y = y | zz
        y = y - (zz + 1)
    y &= (0x5555555555555555 >> (64 - step * 2))
    return x | y


def _neighbors(bits: int, step: int) -> dict:
    def mv(dx, dy):
        return _move_y(_move_x(bits, step, dx), step, dy)
    return {"north": mv(0, 1), "south": mv(0, -1), "east": mv(1, 0), "west": mv(-1, 0),
            "north_east": mv(1, 1), "north_west": mv(-1, 1),
            "south_east": mv(1, -1), "south_west": mv(-1, -1)}


# --------------------------------------------------------------------------
# geohash_helper.c
# --------------------------------------------------------------------------

def _estimate_steps(range_meters: float, lat: float) -> int:
    if range_meters == 0:
        return 26
    step = 1
    while range_meters < MERCATOR_MAX:
        range_meters *= 2
        step += 1
    step -= 2
    if lat > 66 or lat < -66:
        step -= 1
        if lat > 80 or lat < -80:
            step -= 1
    if step < 1:
        step = 1
    if step > 26:
        step = 26
    return step


def _lat_distance(lat1d: float, lat2d: float) -> float:
    return EARTH_RADIUS_IN_METERS * abs(lat2d * D_R - lat1d * D_R)


def geo_distance(lon1d: float, lat1d: float, lon2d: float, lat2d: float) -> float:
    """geohashGetDistance(): haversine distance in meters."""
    lon1r = lon1d * D_R
    lon2r = lon2d * D_R
    v = _sin((lon2r - lon1r) / 2)
    if v == 0.0:
        return _lat_distance(lat1d, lat2d)
    lat1r = lat1d * D_R
    lat2r = lat2d * D_R
    u = _sin((lat2r - lat1r) / 2)
    a = u * u + _cos(lat1r) * _cos(lat2r) * v * v
    return 2.0 * EARTH_RADIUS_IN_METERS * _asin(_sqrt(a))


class _Shape:
    __slots__ = ("circle", "lon", "lat", "radius", "width", "height", "conversion")

    def __init__(self):
        self.circle = True
        self.lon = self.lat = 0.0
        self.radius = self.width = self.height = 0.0
        self.conversion = 1.0

    def within(self, score: float):
        """geoWithinShape(): (lon, lat, distance) when inside, else None."""
        lon, lat = decode_score(score)
        if self.circle:
            dist = geo_distance(self.lon, self.lat, lon, lat)
            if dist > self.radius * self.conversion:
                return None
            return lon, lat, dist
        width_m = self.width * self.conversion
        height_m = self.height * self.conversion
        if _lat_distance(lat, self.lat) > height_m / 2:
            return None
        if geo_distance(lon, lat, self.lon, lat) > width_m / 2:
            return None
        return lon, lat, geo_distance(self.lon, self.lat, lon, lat)


def _areas(shape: _Shape):
    """geohashCalculateAreasByShapeWGS84(): the boxes to search, in Redis's
    order (centre, N, S, E, W, NE, NW, SE, SW) as (bits, step) or None."""
    lon, lat = shape.lon, shape.lat
    conv = shape.conversion
    if shape.circle:
        height = conv * shape.radius
        width = conv * shape.radius
    else:
        height = conv * (shape.height / 2)
        width = conv * (shape.width / 2)
    lat_delta = (height / EARTH_RADIUS_IN_METERS) / D_R
    long_delta_top = (width / EARTH_RADIUS_IN_METERS / _cos((lat + lat_delta) * D_R)) / D_R
    long_delta_bottom = (width / EARTH_RADIUS_IN_METERS / _cos((lat - lat_delta) * D_R)) / D_R
    southern = lat < 0
    min_lon = lon - long_delta_bottom if southern else lon - long_delta_top
    max_lon = lon + long_delta_bottom if southern else lon + long_delta_top
    min_lat = lat - lat_delta
    max_lat = lat + lat_delta

    if shape.circle:
        radius_meters = shape.radius
    else:
        radius_meters = _sqrt((shape.width / 2) * (shape.width / 2)
                              + (shape.height / 2) * (shape.height / 2))
    radius_meters *= conv

    steps = _estimate_steps(radius_meters, lat)
    bits = geohash_encode(lon, lat, steps)
    nb = _neighbors(bits, steps)
    area = _decode_area(bits, steps)

    decrease = False
    if _decode_area(nb["north"], steps)[3] < max_lat:
        decrease = True
    if _decode_area(nb["south"], steps)[2] > min_lat:
        decrease = True
    if _decode_area(nb["east"], steps)[1] < max_lon:
        decrease = True
    if _decode_area(nb["west"], steps)[0] > min_lon:
        decrease = True
    if steps > 1 and decrease:
        steps -= 1
        bits = geohash_encode(lon, lat, steps)
        nb = _neighbors(bits, steps)
        area = _decode_area(bits, steps)

    boxes = {k: (v, steps) for k, v in nb.items()}
    if steps >= 2:
        a_lon_min, a_lon_max, a_lat_min, a_lat_max = area
        if a_lat_min < min_lat:
            boxes["south"] = boxes["south_west"] = boxes["south_east"] = None
        if a_lat_max > max_lat:
            boxes["north"] = boxes["north_east"] = boxes["north_west"] = None
        if a_lon_min < min_lon:
            boxes["west"] = boxes["south_west"] = boxes["north_west"] = None
        if a_lon_max > max_lon:
            boxes["east"] = boxes["south_east"] = boxes["north_east"] = None
    return [(bits, steps), boxes["north"], boxes["south"], boxes["east"], boxes["west"],
            boxes["north_east"], boxes["north_west"], boxes["south_east"],
            boxes["south_west"]]


def _search(zs: ZSet, shape: _Shape, limit: int) -> list:
    """membersOfAllNeighbors(): [dist, score, member, lon, lat] of the members
    inside the shape, in Redis's discovery order; stop at ``limit`` if set."""
    sl = zs.sl
    found = []
    last = 0
    boxes = _areas(shape)
    for i, box in enumerate(boxes):
        if box is None or (box[0] == 0 and box[1] == 0):
            continue
        if last and box == boxes[last]:
            continue
        if found and limit and len(found) >= limit:
            break
        bits, step = box
        shift = 52 - step * 2
        lo = sl.bisect_left((float(bits << shift),))
        hi = sl.bisect_left((float((bits + 1) << shift),))
        for score, member in sl.islice(lo, hi):
            r = shape.within(score)
            if r is not None:
                found.append([r[2], score, member, r[0], r[1]])
            if found and limit and len(found) >= limit:
                break
        last = i
    return found


# --------------------------------------------------------------------------
# Reply helpers
# --------------------------------------------------------------------------

def _distance_text(d: float) -> bytes:
    """fixedpoint_d2string(d, 4): four decimals, rounded half to even."""
    if d == 0:
        return b"0.0000"
    v = round(d * 10000.0)
    sign = b"-" if v < 0 else b""
    v = abs(v)
    return b"%s%d.%04d" % (sign, v // 10000, v % 10000)


def _human(d: float) -> bytes:
    """ld2string(LD_STR_HUMAN): %.17Lf without trailing zeros."""
    if d == math.inf:
        return b"inf"
    if d == -math.inf:
        return b"-inf"
    s = b"%.17f" % d
    if b"." in s:
        s = s.rstrip(b"0")
        if s.endswith(b"."):
            s = s[:-1]
    if s == b"-0":
        s = b"0"
    return s


def _coord(c, d: float):
    """addReplyHumanLongDouble(): a bulk string in RESP2, a double in RESP3."""
    if c.resp == 3:
        return Raw(b"," + _human(d) + b"\r\n")
    return _human(d)


def _unit(arg: bytes) -> float:
    u = arg.lower()
    if u == b"m":
        return 1.0
    if u == b"km":
        return 1000.0
    if u == b"ft":
        return 0.3048
    if u == b"mi":
        return 1609.34
    raise CommandError("ERR unsupported unit provided. please use M, KM, FT, MI")


def _lonlat(argv, i: int):
    """extractLongLatOrReply(): longitude and latitude at argv[i], argv[i+1]."""
    lon = parse_score(argv[i])
    lat = parse_score(argv[i + 1])
    if lon < GEO_LONG_MIN or lon > GEO_LONG_MAX or lat < GEO_LAT_MIN or lat > GEO_LAT_MAX:
        raise CommandError("ERR invalid longitude,latitude pair %f,%f" % (lon, lat))
    return lon, lat


_NEED_RADIUS = CommandError("ERR need numeric radius")
_NEED_WIDTH = CommandError("ERR need numeric width")
_NEED_HEIGHT = CommandError("ERR need numeric height")
_DECODE_ERR = CommandError("ERR could not decode requested zset member")


def _distance_arg(shape: _Shape, argv, i: int) -> None:
    radius = parse_score(argv[i], _NEED_RADIUS)
    if radius < 0:
        raise CommandError("ERR radius cannot be negative")
    shape.radius = radius
    shape.conversion = _unit(argv[i + 1])


def _box_arg(shape: _Shape, argv, i: int) -> None:
    w = parse_score(argv[i], _NEED_WIDTH)
    h = parse_score(argv[i + 1], _NEED_HEIGHT)
    if h < 0 or w < 0:
        raise CommandError("ERR height or width cannot be negative")
    shape.width = w
    shape.height = h
    shape.conversion = _unit(argv[i + 2])


def _member_pos(zs: ZSet, member: bytes, shape: _Shape) -> None:
    score = zs.d.get(member)
    if score is None:
        raise _DECODE_ERR
    shape.lon, shape.lat = decode_score(score)


# --------------------------------------------------------------------------
# GEOADD
# --------------------------------------------------------------------------

@command("geoadd", -5, flags=(WRITE, DENYOOM), first_key=1, last_key=1, step=1,
         acl=("geo",), since="3.2.0",
         complexity="O(log(N)) for each item added, where N is the number of elements in "
                    "the sorted set.",
         summary="Add one or more geospatial items in the geospatial index represented "
                 "using a sorted set")
def geoadd(c, argv):
    n = len(argv)
    i = 2
    flags = 0
    while i < n:
        opt = argv[i].lower()
        if opt == b"nx":
            flags |= 1
        elif opt == b"xx":
            flags |= 2
        elif opt == b"ch":
            flags |= 32
        else:
            break
        i += 1
    if (n - i) % 3 or (flags & 3) == 3:
        raise SYNTAX
    # The ZADD argument vector: key, options, then score member pairs.
    zargv = argv[:i]
    for j in range(i, n, 3):
        lon, lat = _lonlat(argv, j)
        bits = geohash_encode(lon, lat, GEO_STEP_MAX)
        zargv.append(b"%d" % bits)
        zargv.append(argv[j + 2])
    return zadd_generic(c, zargv, i, flags)


# --------------------------------------------------------------------------
# GEORADIUS / GEORADIUSBYMEMBER / GEOSEARCH / GEOSEARCHSTORE
# --------------------------------------------------------------------------

_COORDS, _MEMBER, _NOSTORE, _SEARCH, _SEARCHSTORE = 1, 2, 4, 8, 16


def _georadius_generic(c, argv, src_idx: int, flags: int):
    db = c.db
    zs = db.lookup_typed(argv[src_idx], ZSet)
    storekey = None
    storedist = False
    shape = _Shape()
    if flags & _COORDS:
        base = 6
        shape.lon, shape.lat = _lonlat(argv, 2)
        _distance_arg(shape, argv, base - 2)
    elif flags & _MEMBER:
        base = 5
        if zs is not None:
            _member_pos(zs, argv[2], shape)
            _distance_arg(shape, argv, base - 2)
    else:
        base = 2
        if flags & _SEARCHSTORE:
            base = 3
            storekey = argv[1]

    withdist = withhash = withcoords = False
    frommember = fromloc = byradius = bybox = False
    sort = 0        # 0 none, 1 asc, 2 desc
    any_ = False
    count = 0
    n = len(argv)
    i = base
    search = flags & _SEARCH
    while i < n:
        a = argv[i].lower()
        remaining = n - i   # arguments from this one on
        if a == b"withdist":
            withdist = True
        elif a == b"withhash":
            withhash = True
        elif a == b"withcoord":
            withcoords = True
        elif a == b"any":
            any_ = True
        elif a == b"asc":
            sort = 1
        elif a == b"desc":
            sort = 2
        elif a == b"count" and remaining > 1:
            count = parse_int(argv[i + 1], NOT_INTEGER)
            if count <= 0:
                raise CommandError("ERR COUNT must be > 0")
            i += 1
        elif a in (b"store", b"storedist") and remaining > 1 and not flags & _NOSTORE \
                and not search:
            storekey = argv[i + 1]
            storedist = a == b"storedist"
            i += 1
        elif a == b"storedist" and search and flags & _SEARCHSTORE:
            storedist = True
        elif a == b"frommember" and remaining > 1 and search and not fromloc:
            if zs is not None:
                _member_pos(zs, argv[i + 1], shape)
            frommember = True
            i += 1
        elif a == b"fromlonlat" and remaining > 2 and search and not frommember:
            shape.lon, shape.lat = _lonlat(argv, i + 1)
            fromloc = True
            i += 2
        elif a == b"byradius" and remaining > 2 and search and not bybox:
            _distance_arg(shape, argv, i + 1)
            shape.circle = True
            byradius = True
            i += 2
        elif a == b"bybox" and remaining > 3 and search and not byradius:
            _box_arg(shape, argv, i + 1)
            shape.circle = False
            bybox = True
            i += 3
        else:
            raise SYNTAX
        i += 1

    if storekey is not None and (withdist or withhash or withcoords):
        raise CommandError("ERR %s is not compatible with WITHDIST, WITHHASH and WITHCOORD "
                           "options" % ("GEOSEARCHSTORE" if flags & _SEARCHSTORE
                                        else "STORE option in GEORADIUS"))
    if search and not (frommember or fromloc):
        raise CommandError("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified "
                           "for %s" % argv[0].decode(errors="replace"))
    if search and not (byradius or bybox):
        raise CommandError("ERR exactly one of BYRADIUS and BYBOX can be specified for %s"
                           % argv[0].decode(errors="replace"))
    if any_ and not count:
        raise CommandError("ERR the ANY argument requires COUNT argument")

    if zs is None:
        if storekey is not None:
            return store_zset(c, storekey, None, b"")
        return []

    if count and sort == 0 and not any_:
        sort = 1
    found = _search(zs, shape, count if any_ else 0)
    if not found and storekey is None:
        return []
    returned = len(found) if (count == 0 or len(found) < count) else count
    if sort:
        if returned == len(found):
            # glibc's qsort() is a stable merge sort
            found.sort(key=_by_dist, reverse=sort == 2)
        else:
            _pqsort(found, 0, len(found), _cmp_asc if sort == 1 else _cmp_desc,
                    0, returned - 1)
            del found[returned:]
    elif returned < len(found):
        del found[returned:]
    conv = shape.conversion

    if storekey is None:
        out = []
        opts = withdist or withhash or withcoords
        for dist, score, member, lon, lat in found:
            if not opts:
                out.append(member)
                continue
            item = [member]
            if withdist:
                item.append(_distance_text(dist / conv))
            if withhash:
                item.append(int(score))
            if withcoords:
                item.append([_coord(c, lon), _coord(c, lat)])
            out.append(item)
        return out

    if storedist:
        pairs = [(dist / conv, member) for dist, _, member, _, _ in found]
    else:
        pairs = [(score, member) for _, score, member, _, _ in found]
    event = b"geosearchstore" if search else b"georadiusstore"
    return store_zset(c, storekey, pairs, event, dirty=len(pairs))


def _by_dist(item):
    return item[0]


def _cmp_asc(a, b) -> int:
    a = a[0]
    b = b[0]
    return 1 if a > b else (0 if a == b else -1)


def _cmp_desc(a, b) -> int:
    return -_cmp_asc(a, b)


def _med3(arr, a, b, c, cmp):
    if cmp(arr[a], arr[b]) < 0:
        if cmp(arr[b], arr[c]) < 0:
            return b
        return c if cmp(arr[a], arr[c]) < 0 else a
    if cmp(arr[b], arr[c]) > 0:
        return b
    return a if cmp(arr[a], arr[c]) < 0 else c


def _pqsort(arr, a: int, n: int, cmp, lrange: int, rrange: int) -> None:
    """Redis's pqsort.c: a Bentley-McIlroy quicksort that only sorts what
    lands in positions lrange..rrange.  It is not stable, so its exact steps
    decide the order of equally distant results, as in Redis."""
    while True:
        if n < 7:
            for pm in range(a + 1, a + n):
                pl = pm
                while pl > a and cmp(arr[pl - 1], arr[pl]) > 0:
                    arr[pl], arr[pl - 1] = arr[pl - 1], arr[pl]
                    pl -= 1
            return
        pm = a + n // 2
        if n > 7:
            pl = a
            pn = a + n - 1
            if n > 40:
                d = n // 8
                pl = _med3(arr, pl, pl + d, pl + 2 * d, cmp)
                pm = _med3(arr, pm - d, pm, pm + d, cmp)
                pn = _med3(arr, pn - 2 * d, pn - d, pn, cmp)
            pm = _med3(arr, pl, pm, pn, cmp)
        arr[a], arr[pm] = arr[pm], arr[a]
        pa = pb = a + 1
        pc = pd = a + n - 1
        while True:
            while pb <= pc:
                r = cmp(arr[pb], arr[a])
                if r > 0:
                    break
                if r == 0:
                    arr[pa], arr[pb] = arr[pb], arr[pa]
                    pa += 1
                pb += 1
            while pb <= pc:
                r = cmp(arr[pc], arr[a])
                if r < 0:
                    break
                if r == 0:
                    arr[pc], arr[pd] = arr[pd], arr[pc]
                    pd -= 1
                pc -= 1
            if pb > pc:
                break
            arr[pb], arr[pc] = arr[pc], arr[pb]
            pb += 1
            pc -= 1
        pn = a + n
        r = min(pa - a, pb - pa)
        for i in range(r):
            arr[a + i], arr[pb - r + i] = arr[pb - r + i], arr[a + i]
        r = min(pd - pc, pn - pd - 1)
        for i in range(r):
            arr[pb + i], arr[pn - r + i] = arr[pn - r + i], arr[pb + i]
        r = pb - pa
        if r > 1:
            last = a + r - 1
            if not ((lrange < a and rrange < a) or (lrange > last and rrange > last)):
                _pqsort(arr, a, r, cmp, lrange, rrange)
        r = pd - pc
        if r <= 1:
            return
        a = pn - r
        n = r
        last = a + r - 1
        if (lrange < a and rrange < a) or (lrange > last and rrange > last):
            return


def _georadius_getkeys(startfrom: int):
    """Key positions from GEORADIUS's key specs: the source, then the key
    after the first STORE and after the first STOREDIST keyword."""
    def getkeys(argv):
        keys = [1]
        n = len(argv)
        for kw in (b"store", b"storedist"):
            for i in range(startfrom, n - 1):
                if argv[i].lower() == kw:
                    keys.append(i + 1)
                    break
        return keys
    return getkeys


_RADIUS_COMPLEXITY = ("O(N+log(M)) where N is the number of elements inside the bounding box "
                      "of the circular area delimited by center and radius and M is the "
                      "number of items inside the index.")
_SEARCH_COMPLEXITY = ("O(N+log(M)) where N is the number of elements in the grid-aligned "
                      "bounding box area around the shape provided as the filter and M is the "
                      "number of items inside the shape")


@command("georadius", -6, flags=(WRITE, DENYOOM, MOVABLEKEYS), first_key=1, last_key=1,
         step=1, acl=("geo",), since="3.2.0", complexity=_RADIUS_COMPLEXITY,
         summary="Query a sorted set representing a geospatial index to fetch members "
                 "matching a given maximum distance from a point",
         getkeys=_georadius_getkeys(6))
def georadius(c, argv):
    return _georadius_generic(c, argv, 1, _COORDS)


@command("georadiusbymember", -5, flags=(WRITE, DENYOOM, MOVABLEKEYS), first_key=1,
         last_key=1, step=1, acl=("geo",), since="3.2.0", complexity=_RADIUS_COMPLEXITY,
         summary="Query a sorted set representing a geospatial index to fetch members "
                 "matching a given maximum distance from a member",
         getkeys=_georadius_getkeys(5))
def georadiusbymember(c, argv):
    return _georadius_generic(c, argv, 1, _MEMBER)


@command("georadius_ro", -6, flags=(READONLY,), first_key=1, last_key=1, step=1,
         acl=("geo",), since="3.2.10", complexity=_RADIUS_COMPLEXITY,
         summary="A read-only variant for GEORADIUS")
def georadius_ro(c, argv):
    return _georadius_generic(c, argv, 1, _COORDS | _NOSTORE)


@command("georadiusbymember_ro", -5, flags=(READONLY,), first_key=1, last_key=1, step=1,
         acl=("geo",), since="3.2.10", complexity=_RADIUS_COMPLEXITY,
         summary="A read-only variant for GEORADIUSBYMEMBER")
def georadiusbymember_ro(c, argv):
    return _georadius_generic(c, argv, 1, _MEMBER | _NOSTORE)


@command("geosearch", -7, flags=(READONLY,), first_key=1, last_key=1, step=1,
         acl=("geo",), since="6.2.0", complexity=_SEARCH_COMPLEXITY,
         summary="Query a sorted set representing a geospatial index to fetch members "
                 "inside an area of a box or a circle.")
def geosearch(c, argv):
    return _georadius_generic(c, argv, 1, _SEARCH)


@command("geosearchstore", -8, flags=(WRITE, DENYOOM), first_key=1, last_key=2, step=1,
         acl=("geo",), since="6.2.0", complexity=_SEARCH_COMPLEXITY,
         summary="Query a sorted set representing a geospatial index to fetch members "
                 "inside an area of a box or a circle, and store the result in another key.")
def geosearchstore(c, argv):
    return _georadius_generic(c, argv, 2, _SEARCH | _SEARCHSTORE)


# --------------------------------------------------------------------------
# GEOHASH / GEOPOS / GEODIST
# --------------------------------------------------------------------------

_GEOALPHABET = b"0123456789bcdefghjkmnpqrstuvwxyz"


@command("geohash", -2, flags=(READONLY,), first_key=1, last_key=1, step=1,
         acl=("geo",), since="3.2.0",
         complexity="O(log(N)) for each member requested, where N is the number of "
                    "elements in the sorted set.",
         summary="Returns members of a geospatial index as standard geohash strings")
def geohash(c, argv):
    zs = c.db.lookup_typed(argv[1], ZSet)
    out = []
    for member in argv[2:]:
        score = None if zs is None else zs.d.get(member)
        if score is None:
            out.append(None)
            continue
        lon, lat = decode_score(score)
        # Redis's scores use latitudes in -85,85; a standard geohash uses -90,90.
        bits = geohash_encode(lon, lat, 26, -180.0, 180.0, -90.0, 90.0)
        buf = bytearray(11)
        for i in range(10):
            buf[i] = _GEOALPHABET[(bits >> (52 - (i + 1) * 5)) & 0x1F]
        buf[10] = _GEOALPHABET[0]
        out.append(bytes(buf))
    return out


@command("geopos", -2, flags=(READONLY,), first_key=1, last_key=1, step=1,
         acl=("geo",), since="3.2.0",
         complexity="O(N) where N is the number of members requested.",
         summary="Returns longitude and latitude of members of a geospatial index")
def geopos(c, argv):
    zs = c.db.lookup_typed(argv[1], ZSet)
    out = []
    for member in argv[2:]:
        score = None if zs is None else zs.d.get(member)
        if score is None:
            out.append(NULL_ARRAY)
            continue
        lon, lat = decode_score(score)
        out.append([_coord(c, lon), _coord(c, lat)])
    return out


@command("geodist", -4, flags=(READONLY,), first_key=1, last_key=1, step=1,
         acl=("geo",), since="3.2.0", complexity="O(log(N))",
         summary="Returns the distance between two members of a geospatial index")
def geodist(c, argv):
    to_meter = 1.0
    if len(argv) == 5:
        to_meter = _unit(argv[4])
    elif len(argv) > 5:
        raise SYNTAX
    zs = c.db.lookup_typed(argv[1], ZSet)
    if zs is None:
        return None
    s1 = zs.d.get(argv[2])
    s2 = zs.d.get(argv[3])
    if s1 is None or s2 is None:
        return None
    lon1, lat1 = decode_score(s1)
    lon2, lat2 = decode_score(s2)
    return _distance_text(geo_distance(lon1, lat1, lon2, lat2) / to_meter)
