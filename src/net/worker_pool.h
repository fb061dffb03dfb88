// WorkerPool: threads for blocking work (file system calls), so the io thread never blocks.
#pragma once

#include <functional>
#include <memory>

namespace shoal::net {

class WorkerPool {
 public:
  explicit WorkerPool(int threads);
  ~WorkerPool();  // waits for queued work to finish
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Waits until all posted work (and work it posts) has run; the pool takes no more afterwards.
  void Join();
  // Runs `work` on one of the pool's threads, some time later. Thread-safe.
  void Post(std::function<void()> work);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shoal::net
