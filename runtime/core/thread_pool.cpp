#include "core/thread_pool.h"

#include <algorithm>

namespace mpc::rt {

namespace {
// True on pool worker threads and on a caller while it runs a job, so nested
// parallelFor calls run inline instead of deadlocking on the pool.
thread_local bool tInPool = false;
} // namespace

ThreadPool::ThreadPool(int numThreads) : numThreads_(std::max(1, numThreads)) {
  // The calling thread works too, so numThreads - 1 helpers.
  for (int i = 1; i < numThreads_; ++i) workers_.emplace_back([this] { workerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread &t : workers_) t.join();
}

void ThreadPool::runChunks() {
  for (;;) {
    int64_t chunk;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (nextChunk_ >= numChunks_) return;
      chunk = nextChunk_++;
    }
    const int64_t begin = chunk * grain_;
    const int64_t end = std::min(n_, begin + grain_);
    (*fn_)(begin, end);
    bool last;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      last = ++chunksDone_ == numChunks_;
    }
    if (last) done_.notify_all();
  }
}

void ThreadPool::workerLoop() {
  tInPool = true;
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
    }
    runChunks();
  }
}

void ThreadPool::parallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)> &fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  const int64_t chunks = (n + grain - 1) / grain;
  if (numThreads_ <= 1 || chunks == 1 || tInPool) {
    // Same chunk boundaries as the threaded path.
    for (int64_t begin = 0; begin < n; begin += grain) fn(begin, std::min(n, begin + grain));
    return;
  }
  std::lock_guard<std::mutex> callLock(callMutex_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    fn_ = &fn;
    n_ = n;
    grain_ = grain;
    numChunks_ = chunks;
    nextChunk_ = 0;
    chunksDone_ = 0;
    ++generation_;
  }
  wake_.notify_all();
  tInPool = true;
  runChunks();
  tInPool = false;
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [&] { return chunksDone_ == numChunks_; });
  fn_ = nullptr;
}

void parallelFor(ThreadPool *pool, int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)> &fn) {
  if (pool) {
    pool->parallelFor(n, grain, fn);
    return;
  }
  for (int64_t begin = 0; begin < n; begin += std::max<int64_t>(grain, 1))
    fn(begin, std::min(n, begin + std::max<int64_t>(grain, 1)));
}

} // namespace mpc::rt
