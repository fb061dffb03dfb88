#include "client/read_spread.h"

#include <spdlog/spdlog.h>

namespace shoal::client {
namespace {

// How long a brick that failed a read is left alone: about the time a heal or a new read lease
// takes, and short enough that a brick back in sync soon takes its share again.
constexpr auto kAvoidFor = std::chrono::seconds(1);

}  // namespace

ReadSpread::ReadSpread(const std::vector<HostPort>& servers, proto::Request hello)
    : avoid_until_(new std::atomic<Clock::rep>[servers.size()]) {
  hello.mutable_hello()->set_role(proto::ROLE_READ);
  hello.mutable_hello()->set_accepts_pushes(false);
  for (size_t brick = 0; brick < servers.size(); ++brick) {
    avoid_until_[brick] = 0;
    // A read connection gives up fast: a read it cannot serve goes to the primary instead.
    readers_.push_back(net::ClientTransport::Open({.servers = {servers[brick]},
                                                   .hello = hello,
                                                   .connect_timeout_ms = 1000,
                                                   .give_up_ms = 1000,
                                                   .ping_interval_ms = 250,
                                                   .silence_ms = 1000,
                                                   .backoff_max_ms = 2000,
                                                   .hello_timeout_ms = 1000}));
  }
}

size_t ReadSpread::BrickFor(uint64_t node, size_t bricks) {
  // splitmix64's finalizer: node ids are handed out in runs, the bricks should not be.
  uint64_t z = node + 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return static_cast<size_t>((z ^ (z >> 31)) % bricks);
}

ReadSpread::Target ReadSpread::Pick(uint64_t node, size_t primary_index) const {
  const size_t brick = BrickFor(node, readers_.size());
  if (brick == primary_index || !readers_[brick]->connected() ||
      Clock::now().time_since_epoch().count() < avoid_until_[brick].load(std::memory_order_relaxed))
    return {};
  return {.transport = readers_[brick].get(), .brick = brick};
}

void ReadSpread::Failed(size_t brick, const Status& why) {
  const auto until = (Clock::now() + kAvoidFor).time_since_epoch().count();
  if (avoid_until_[brick].exchange(until) < Clock::now().time_since_epoch().count())
    spdlog::info("client.read_elsewhere brick={} for_ms={} error=\"{}\"", brick,
                 std::chrono::duration_cast<std::chrono::milliseconds>(kAvoidFor).count(), why.ToString());
}

}  // namespace shoal::client
