// A small persistent thread pool for the CPU backend's big loops.
//
// parallelFor splits [0, n) into chunks whose boundaries depend only on n and
// grain, never on the number of threads, and every chunk is processed by
// exactly one thread. Kernels keep results independent of the thread count by
// never splitting a floating-point reduction across chunks: each output
// element is accumulated by one thread in a fixed order.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace mpc::rt {

class ThreadPool {
public:
  // numThreads <= 1 runs every loop inline on the calling thread.
  explicit ThreadPool(int numThreads);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  int numThreads() const { return numThreads_; }

  // Calls fn(begin, end) over consecutive chunks of [0, n), each of at most
  // max(grain, 1) elements; blocks until all are done. Chunk i covers
  // [i * grain, min(n, (i + 1) * grain)). Not reentrant: a nested call from a
  // worker runs inline.
  void parallelFor(int64_t n, int64_t grain, const std::function<void(int64_t begin, int64_t end)> &fn);

private:
  void workerLoop();
  void runChunks();

  int numThreads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::mutex callMutex_; // serialises concurrent parallelFor calls from different threads
  // The current job.
  const std::function<void(int64_t, int64_t)> *fn_ = nullptr;
  int64_t n_ = 0;
  int64_t grain_ = 1;
  int64_t numChunks_ = 0;
  int64_t nextChunk_ = 0;   // guarded by mutex_
  int64_t chunksDone_ = 0;  // guarded by mutex_
  uint64_t generation_ = 0; // bumped per job, guarded by mutex_
  bool stop_ = false;
};

// Convenience: run inline when pool is null.
void parallelFor(ThreadPool *pool, int64_t n, int64_t grain, const std::function<void(int64_t begin, int64_t end)> &fn);

} // namespace mpc::rt
