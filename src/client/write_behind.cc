#include "client/write_behind.h"

#include <future>

#include <spdlog/spdlog.h>

namespace shoal::client {

struct WriteBehind::Entry {
  uint64_t sequence = 0;
  std::shared_ptr<OpenFile> file;
  uint64_t offset = 0;
  net::Bulk data;               // null until copied: not sent before
  bool append = false;
  bool behind = false;          // answered when admitted rather than when the server answers
  uint64_t bytes = 0;           // charged against the budget: the size as it arrived
  uint64_t start = 0, end = 0;  // the bytes it may change
  Written done;                 // moved out when called
  bool admitted = false;
  bool sent = false;
};

// Free buffers of earlier writes: a few, enough for a stream of writes to cycle through them (a
// fresh megabyte costs page faults and zeroing that cost as much as the copy itself).
struct WriteBehind::Buffers {
  static constexpr size_t kFreeMax = 8;
  static constexpr size_t kBytesMax = 1u << 20;  // larger buffers are let go
  std::mutex mutex;
  std::vector<std::unique_ptr<std::string>> free;  // guarded by mutex
};

WriteSender SendThrough(Client& client) {
  return [&client](std::shared_ptr<OpenFile> file, uint64_t offset, bool append, net::Bulk data, Written done) {
    client.CallOnFile(
        std::move(file),
        [offset, append](uint64_t handle) {
          proto::Request request;
          auto* write = request.mutable_write();
          write->set_handle(handle);
          write->set_offset(offset);
          write->set_append(append);
          return request;
        },
        std::move(data), [done = std::move(done)](Result<Reply> reply) {
          if (!reply.ok()) return done(reply.status());
          done(reply->response.write().written());
        });
  };
}

WriteBehind::WriteBehind(WriteSender send, WriteBehindOptions options)
    : send_(std::move(send)), options_(options), buffers_(std::make_shared<Buffers>()) {}

WriteBehind::~WriteBehind() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return nodes_.empty(); });
}

net::Bulk WriteBehind::Copy(std::string_view data) {
  std::unique_ptr<std::string> buffer;
  {
    std::lock_guard lock(buffers_->mutex);
    if (!buffers_->free.empty()) {
      buffer = std::move(buffers_->free.back());
      buffers_->free.pop_back();
    }
  }
  if (!buffer) buffer = std::make_unique<std::string>();
  buffer->assign(data);
  return net::Bulk(buffer.release(), [buffers = buffers_](const std::string* used) {
    std::unique_ptr<std::string> returned(const_cast<std::string*>(used));
    std::lock_guard lock(buffers->mutex);
    if (buffers->free.size() < Buffers::kFreeMax && returned->capacity() <= Buffers::kBytesMax)
      buffers->free.push_back(std::move(returned));
  });
}

void WriteBehind::Write(std::shared_ptr<OpenFile> file, uint64_t offset, std::string_view data, bool append,
                        Written done) {
  if (Status earlier = TakeError(*file); !earlier.ok()) return done(std::move(earlier));
  auto entry = std::make_shared<Entry>();
  entry->bytes = data.size();
  entry->start = append ? 0 : offset;
  entry->end = append ? UINT64_MAX : offset + entry->bytes;
  entry->behind = !append && entry->end <= options_.behind_end_bytes_max;
  entry->file = std::move(file);
  entry->offset = offset;
  entry->append = append;
  entry->done = std::move(done);
  const NodeId node = entry->file->node;
  Actions actions;
  {
    std::lock_guard lock(mutex_);
    entry->sequence = next_sequence_++;
    nodes_[node].entries.push_back(entry);
    waiting_.push_back(entry);
    Admit(actions);  // may answer this write: it is not sent before its data is here
  }
  for (auto& action : actions) action();
  actions.clear();
  net::Bulk copy = Copy(data);
  {
    std::lock_guard lock(mutex_);
    entry->data = std::move(copy);
    SendReady(nodes_[node], actions);  // the entry is pending: its node is there
  }
  for (auto& action : actions) action();
}

// Admits waiting writes, oldest first, while they fit in the budget (one always fits when nothing
// is admitted, whatever its size); a write-behind write is answered here.
void WriteBehind::Admit(Actions& actions) {
  NodeId last_node = 0;
  std::vector<NodeId> nodes;
  while (!waiting_.empty()) {
    auto& entry = waiting_.front();
    if (writes_admitted_ > 0 && (bytes_admitted_ + entry->bytes > options_.in_flight_bytes_max ||
                                 writes_admitted_ >= options_.in_flight_writes_max))
      break;
    bytes_admitted_ += entry->bytes;
    ++writes_admitted_;
    entry->admitted = true;
    if (entry->behind)
      actions.push_back([done = std::move(entry->done), bytes = static_cast<uint32_t>(entry->bytes)] { done(bytes); });
    if (entry->file->node != last_node) nodes.push_back(last_node = entry->file->node);
    waiting_.pop_front();
  }
  for (NodeId node : nodes) SendReady(nodes_[node], actions);
}

// Sends every admitted write of the node that overlaps no earlier write still pending.
void WriteBehind::SendReady(NodeWrites& writes, Actions& actions) {
  for (auto it = writes.entries.begin(); it != writes.entries.end(); ++it) {
    const auto& entry = *it;
    if (!entry->admitted) break;  // admission goes in arrival order: none after this one is admitted
    if (entry->sent || !entry->data) continue;
    bool overlaps = false;
    for (auto earlier = writes.entries.begin(); earlier != it && !overlaps; ++earlier)
      overlaps = (*earlier)->start < entry->end && entry->start < (*earlier)->end;
    if (overlaps) continue;
    entry->sent = true;
    actions.push_back([this, entry] { Send(entry); });
  }
}

void WriteBehind::Send(std::shared_ptr<Entry> entry) {
  auto file = entry->file;
  const uint64_t offset = entry->offset;
  const bool append = entry->append;
  auto data = entry->data;
  send_(std::move(file), offset, append, std::move(data),
        [this, entry = std::move(entry)](Result<uint32_t> result) mutable { Answered(std::move(entry), std::move(result)); });
}

void WriteBehind::Answered(std::shared_ptr<Entry> entry, Result<uint32_t> result) {
  const std::string_view data = net::View(entry->data);
  if (entry->behind && result.ok() && *result < data.size()) {
    if (*result == 0) {
      result = Status(Code::kIoError, "the server wrote nothing");
    } else {
      // Short (the disk filled up midway, say): the rest goes on, to land or fail with its own error.
      entry->offset += *result;
      entry->data = std::make_shared<const std::string>(data.substr(*result));
      return Send(std::move(entry));
    }
  }
  const NodeId node = entry->file->node;
  if (entry->behind && !result.ok()) {
    // Recorded before the barriers run, so that a flush or fsync behind one finds it.
    spdlog::warn("write_behind.failed node={} offset={} bytes={} error=\"{}\"", node, entry->offset, data.size(),
                 result.status().ToString());
    std::lock_guard lock(entry->file->mutex);
    if (entry->file->write_error.ok()) {
      entry->file->write_error = result.status();
      entry->file->write_error_told = false;
    }
  }
  Actions actions;
  {
    std::lock_guard lock(mutex_);
    if (!entry->behind)
      actions.push_back([done = std::move(entry->done), result = std::move(result)]() mutable { done(std::move(result)); });
    bytes_admitted_ -= entry->bytes;
    --writes_admitted_;
    answered_.emplace_back(++answers_, node);
    if (answered_.size() > kAnsweredKept) answered_.pop_front();
    auto it = nodes_.find(node);
    NodeWrites& writes = it->second;
    writes.entries.remove(entry);
    const uint64_t oldest = writes.entries.empty() ? UINT64_MAX : writes.entries.front()->sequence;
    std::erase_if(writes.barriers, [&](auto& barrier) {
      if (barrier.first > oldest) return false;  // an earlier write is still pending
      actions.push_back(std::move(barrier.second));
      return true;
    });
    SendReady(writes, actions);
    if (writes.entries.empty() && writes.barriers.empty()) nodes_.erase(it);
    Admit(actions);
    if (nodes_.empty()) idle_.notify_all();
  }
  for (auto& action : actions) action();
}

void WriteBehind::AfterWrites(NodeId node, std::function<void()> then) {
  {
    std::lock_guard lock(mutex_);
    auto it = nodes_.find(node);
    if (it != nodes_.end() && !it->second.entries.empty()) {
      it->second.barriers.emplace_back(next_sequence_, std::move(then));
      return;
    }
  }
  then();
}

void WriteBehind::WaitForWrites(NodeId node) {
  std::promise<void> answered;
  auto future = answered.get_future();
  AfterWrites(node, [&answered] { answered.set_value(); });
  future.wait();
}

Status WriteBehind::TakeError(OpenFile& file) {
  std::lock_guard lock(file.mutex);
  file.write_error_told = false;
  return std::exchange(file.write_error, Status::Ok());
}

Status WriteBehind::ErrorOf(OpenFile& file) {
  std::lock_guard lock(file.mutex);
  if (!file.write_error.ok()) file.write_error_told = true;
  return file.write_error;
}

bool WriteBehind::ErrorUntold(OpenFile& file) {
  std::lock_guard lock(file.mutex);
  return !file.write_error.ok() && !file.write_error_told;
}

uint64_t WriteBehind::Since() {
  std::lock_guard lock(mutex_);
  return answers_;
}

bool WriteBehind::MayBeStale(NodeId node, uint64_t since) {
  std::lock_guard lock(mutex_);
  if (auto it = nodes_.find(node); it != nodes_.end() && !it->second.entries.empty()) return true;
  if (answers_ == since) return false;
  if (answered_.empty() || answered_.front().first > since + 1) return true;  // forgotten: assume so
  for (auto it = answered_.rbegin(); it != answered_.rend() && it->first > since; ++it)
    if (it->second == node) return true;
  return false;
}

}  // namespace shoal::client
