#include "net/worker_pool.h"

#include <boost/asio/thread_pool.hpp>

#include "net/asio.h"

namespace shoal::net {

struct WorkerPool::Impl {
  explicit Impl(int threads) : pool(threads) {}
  asio::thread_pool pool;
};

WorkerPool::WorkerPool(int threads) : impl_(std::make_unique<Impl>(threads)) {}

WorkerPool::~WorkerPool() { Join(); }

void WorkerPool::Join() { impl_->pool.join(); }

void WorkerPool::Post(std::function<void()> work) { asio::post(impl_->pool, std::move(work)); }

}  // namespace shoal::net
