// ReadSpread: which brick a replicated volume's client reads file data from (DESIGN.md §5;
// docs/design.md, "Reads spread over the bricks").
//
// Every brick's server gets a read connection (ROLE_READ) of its own, made and kept in the
// background. The brick a file is read from is chosen by hashing its node id, the same way on
// every client, so that each file is read from one brick and the bricks' page caches hold
// different files. The primary's connection is used instead when the brick chosen is the
// primary's, when its read connection is down, or when it failed a read lately: it holds no read
// lease (out of sync, cut off from its primary) or does not answer.
//
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "common/host_port.h"
#include "common/status.h"
#include "net/client_transport.h"
#include "proto/shoal.pb.h"

namespace shoal::client {

class ReadSpread {
 public:
  // `servers`: the bricks' servers, in brick order; `hello`: the client's hello, sent with
  // ROLE_READ and without pushes.
  ReadSpread(const std::vector<HostPort>& servers, proto::Request hello);

  struct Target {
    net::ClientTransport* transport = nullptr;  // null: read through the primary's connection
    size_t brick = 0;
  };
  // Where to read `node` from while the primary's connection goes to server `primary_index`.
  Target Pick(uint64_t node, size_t primary_index) const;
  // Brick `brick` failed a read: the primary's connection serves its reads for a while.
  void Failed(size_t brick, const Status& why);

  // The brick reads of `node` go to among `bricks` (a fixed mix of the id: every client agrees).
  static size_t BrickFor(uint64_t node, size_t bricks);

 private:
  using Clock = std::chrono::steady_clock;
  // Before readers_: a read failed by a reader's destruction still calls Failed.
  std::unique_ptr<std::atomic<Clock::rep>[]> avoid_until_;      // by brick
  std::vector<std::unique_ptr<net::ClientTransport>> readers_;  // by brick
};

}  // namespace shoal::client
