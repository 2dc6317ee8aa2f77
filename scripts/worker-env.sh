# Memory settings of a process that runs a worker, sourced before it execs node by `npm run
# worker`, `npm start` and the benchmark's workers (the Dockerfile and docker-compose.yml set the
# same two). Streaming a result into S3 turns each 64 KB socket read into a buffer freed only
# when V8 collects its wrapper, and glibc keeps freed pages: without these, the worker's peak RSS
# grew by 31–35 MB for one result of any size and 47–57 MB for 20 at once (benchmark scenario 6).
# --max-semi-space-size=1 (a young generation of 1 MB instead of 16) has V8 collect that garbage
# far sooner: 13–30 MB and 35–42 MB. MALLOC_MMAP_THRESHOLD_ (glibc) maps allocations of 64 KB and
# more, so their pages go back once freed; alone it changes nothing, with the flag it brings 20 at
# once to 29–39 MB. The cost is the worker's CPU while streaming, about 10 ms more per MB (2.5 ×,
# in extra full collections), which shows in wall time only when the cores are busy.
# To opt out: a later --max-semi-space-size in NODE_OPTIONS wins; a MALLOC_MMAP_THRESHOLD_ already
# set is kept.
export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-65536}"
export NODE_OPTIONS="--max-semi-space-size=1${NODE_OPTIONS:+ $NODE_OPTIONS}"
