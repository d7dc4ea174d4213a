"""One shardis shard: a Redis-compatible single-threaded Trio server."""
