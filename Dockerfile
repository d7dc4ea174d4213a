# One image for every way of running shardis in containers: the supervisor
# (default command) or a single node (`shardis node ...`).
FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml README.md ./
COPY node ./node
COPY cluster ./cluster
COPY proxy ./proxy
COPY bench ./bench
RUN pip install --no-cache-dir . && mkdir -p /data

WORKDIR /data
EXPOSE 7000 7001 7002 17000 17001 17002
ENTRYPOINT ["shardis"]
CMD ["cluster", "start", "--shards", "3", "--port", "7000", "--bind", "0.0.0.0", "--dir", "/data"]
