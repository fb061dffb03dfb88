#include "net/connection.h"

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "net/listener.h"

namespace shoal::net {
namespace {

// Frames as the listening side received them, by sender.
struct Received {
  std::mutex mutex;
  std::condition_variable arrived;
  std::map<uint64_t, std::vector<Frame>> by_sender;  // request_id / kPerSender
  size_t frames = 0;
  std::string closed;  // why the connection closed, if it did
};

constexpr uint64_t kPerSender = 1'000'000;

class Recorder : public FrameSink {
 public:
  // `stall_at`: a request id after which it stalls too (0: none).
  explicit Recorder(Received& received, uint64_t stall_at = 0) : received_(received), stall_at_(stall_at) {}
  void OnFrame(Frame frame) override {
    // Reads nothing for a while after the first frame, so that the sender's socket fills up and
    // its frames are sent in pieces.
    if (first_ || (stall_at_ != 0 && frame.header.request_id == stall_at_))
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    first_ = false;
    std::lock_guard lock(received_.mutex);
    received_.by_sender[frame.header.request_id / kPerSender].push_back(std::move(frame));
    ++received_.frames;
    received_.arrived.notify_all();
  }
  void OnClose(const std::string& reason) override {
    std::lock_guard lock(received_.mutex);
    received_.closed = reason;
    received_.arrived.notify_all();
  }

 private:
  Received& received_;
  const uint64_t stall_at_;
  bool first_ = true;
};

class Ignore : public FrameSink {
 public:
  void OnFrame(Frame) override {}
  void OnClose(const std::string&) override {}
};

// The sending end: a connection to `port` on an io thread of its own.
class Sender {
 public:
  explicit Sender(uint16_t port) {
    tcp::socket socket(io_);
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    connection_ = std::make_shared<Connection>(std::move(socket));
    connection_->Start(std::make_shared<Ignore>());
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Sender() {
    connection_->Close("test over");
    work_.reset();
    thread_.join();
  }
  Connection& connection() { return *connection_; }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::shared_ptr<Connection> connection_;
  std::thread thread_;
};

std::string Pattern(uint64_t id, size_t bytes) {
  std::string data(bytes, '\0');
  for (size_t i = 0; i < bytes; ++i) data[i] = static_cast<char>((id * 131 + i) % 251);
  return data;
}

Frame MakeFrame(uint64_t id, size_t trailer_bytes) {
  Frame frame;
  frame.header.kind = proto::FrameKind::kRequest;
  frame.header.request_id = id;
  frame.body = "body of " + std::to_string(id);
  if (trailer_bytes > 0) frame.trailer = std::make_shared<const std::string>(Pattern(id, trailer_bytes));
  return frame;
}

// Every hundredth frame as large as a frame may be (a dozen of them fill any socket's buffers),
// every third a small write's worth, the rest without data.
size_t TrailerBytes(uint64_t i) {
  if (i % 100 == 1) return proto::kTrailerBytesMax;
  return i % 3 == 0 ? 5000 : 0;
}

// Frames sent at once from several threads, some far larger than the socket takes in one go,
// arrive whole, each sender's in the order it sent them: what Send writes itself and what the io
// thread writes after it never interleave or repeat.
TEST(ConnectionTest, FramesFromManyThreadsArriveWholeAndInOrderWhenTheSocketFills) {
  Received received;
  auto listener = Listener::Start("127.0.0.1", 0, [&](std::shared_ptr<Connection>) {
    return std::make_shared<Recorder>(received);
  });
  ASSERT_TRUE(listener.ok()) << listener.status().ToString();
  constexpr uint64_t kSenders = 4;
  constexpr uint64_t kFrames = 300;
  {
    Sender sender((*listener)->port());
    std::vector<std::thread> threads;
    for (uint64_t s = 0; s < kSenders; ++s) {
      threads.emplace_back([&, s] {
        for (uint64_t i = 0; i < kFrames; ++i) {
          sender.connection().Send(MakeFrame(s * kPerSender + i, TrailerBytes(i)));
        }
      });
    }
    for (auto& thread : threads) thread.join();
    std::unique_lock lock(received.mutex);
    received.arrived.wait_for(lock, std::chrono::seconds(60),
                              [&] { return received.frames == kSenders * kFrames || !received.closed.empty(); });
  }
  std::lock_guard lock(received.mutex);
  ASSERT_EQ(received.frames, kSenders * kFrames) << "closed: " << received.closed;
  for (uint64_t s = 0; s < kSenders; ++s) {
    const auto& frames = received.by_sender[s];
    ASSERT_EQ(frames.size(), kFrames);
    for (uint64_t i = 0; i < kFrames; ++i) {
      const uint64_t id = s * kPerSender + i;
      ASSERT_EQ(frames[i].header.request_id, id);
      EXPECT_EQ(frames[i].body, "body of " + std::to_string(id));
      const size_t trailer = TrailerBytes(i);
      ASSERT_EQ(View(frames[i].trailer).size(), trailer) << "frame " << id;
      if (trailer > 0) {
        EXPECT_TRUE(*frames[i].trailer == Pattern(id, trailer)) << "frame " << id;
      }
    }
  }
}

// A frame sent after the connection closed goes nowhere and harms nothing.
TEST(ConnectionTest, SendAfterCloseIsDropped) {
  Received received;
  auto listener = Listener::Start("127.0.0.1", 0, [&](std::shared_ptr<Connection>) {
    return std::make_shared<Recorder>(received);
  });
  ASSERT_TRUE(listener.ok()) << listener.status().ToString();
  Sender sender((*listener)->port());
  sender.connection().Send(MakeFrame(1, 0));
  {
    std::unique_lock lock(received.mutex);
    ASSERT_TRUE(received.arrived.wait_for(lock, std::chrono::seconds(30), [&] { return received.frames == 1; }));
  }
  sender.connection().Close("closed by the test");
  for (int i = 0; i < 1000 && !sender.connection().closed(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(sender.connection().closed());
  sender.connection().Send(MakeFrame(2, 100));
  std::unique_lock lock(received.mutex);
  ASSERT_TRUE(received.arrived.wait_for(lock, std::chrono::seconds(30), [&] { return !received.closed.empty(); }));
  EXPECT_EQ(received.frames, 1u);
}

// Frames cut anywhere arrive whole and in order: first trickled in pieces of 1 to 97 bytes to an
// awake reader (headers split between small reads), then written in bulk while the reader stalls,
// so that its reads fill its buffer and frames, headers among them, straddle the buffer's end.
TEST(ConnectionTest, FramesCutAnywhereArriveWhole) {
  constexpr uint64_t kTrickled = 1000;  // frames 1..999; frame 1000 stalls the reader
  constexpr uint64_t kFrames = 20000;
  Received received;
  auto listener = Listener::Start("127.0.0.1", 0, [&](std::shared_ptr<Connection>) {
    return std::make_shared<Recorder>(received, kTrickled);
  });
  ASSERT_TRUE(listener.ok()) << listener.status().ToString();
  auto trailer_bytes = [](uint64_t i) -> size_t { return i % 1000 == 500 ? 200'000 : (i % 4) * 37; };
  auto wire_of = [&](uint64_t from, uint64_t to) {
    std::string wire;
    for (uint64_t i = from; i < to; ++i) {
      Frame frame = MakeFrame(i, trailer_bytes(i));
      const proto::HeaderBytes header =
          proto::EncodeHeader(frame.header, Bytes(frame.body), Bytes(View(frame.trailer)));
      wire.append(reinterpret_cast<const char*>(header.data()), header.size());
      wire += frame.body;
      wire += View(frame.trailer);
    }
    return wire;
  };
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), (*listener)->port()));
  socket.set_option(tcp::no_delay(true));
  asio::write(socket, asio::buffer(wire_of(0, 1)));
  {
    std::unique_lock lock(received.mutex);
    ASSERT_TRUE(received.arrived.wait_for(lock, std::chrono::seconds(30), [&] { return received.frames == 1; }));
  }
  const std::string trickled = wire_of(1, kTrickled);
  for (size_t at = 0, piece = 1; at < trickled.size(); piece = piece % 97 + 1) {
    const size_t n = std::min(trickled.size() - at, piece);
    asio::write(socket, asio::buffer(trickled.data() + at, n));
    at += n;
    if (piece % 7 == 0) std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  asio::write(socket, asio::buffer(wire_of(kTrickled, kFrames)));
  std::unique_lock lock(received.mutex);
  ASSERT_TRUE(received.arrived.wait_for(lock, std::chrono::seconds(60),
                                        [&] { return received.frames == kFrames || !received.closed.empty(); }))
      << "frames: " << received.frames;
  ASSERT_EQ(received.frames, kFrames) << "closed: " << received.closed;
  const auto& frames = received.by_sender[0];
  for (uint64_t i = 0; i < kFrames; ++i) {
    ASSERT_EQ(frames[i].header.request_id, i);
    ASSERT_EQ(frames[i].body, "body of " + std::to_string(i));
    ASSERT_EQ(View(frames[i].trailer).size(), trailer_bytes(i)) << "frame " << i;
    if (trailer_bytes(i) > 0) ASSERT_TRUE(*frames[i].trailer == Pattern(i, trailer_bytes(i))) << "frame " << i;
  }
}

}  // namespace
}  // namespace shoal::net
