#include "fuse/notifier.h"

#include <algorithm>
#include <chrono>

#include <spdlog/spdlog.h>

namespace shoal::fuse {
namespace {

class FuseKernel : public KernelCache {
 public:
  explicit FuseKernel(fuse_session* session) : session_(session) {}
  void InvalidateNode(uint64_t ino, bool pages) override {
    // A negative offset: attributes only (and the kernel's ACLs).
    Check(fuse_lowlevel_notify_inval_inode(session_, ino, pages ? 0 : -1, 0), "inval_inode", ino);
  }
  void ExpireEntry(uint64_t parent, std::string_view name) override {
    Check(fuse_lowlevel_notify_expire_entry(session_, parent, name.data(), name.size(), FUSE_LL_EXPIRE_ONLY),
          "expire_entry", parent);
  }

 private:
  static void Check(int rc, const char* what, uint64_t ino) {
    // ENOENT: the kernel no longer has it, which is what was wanted.
    if (rc != 0 && rc != -ENOENT) spdlog::debug("notifier.{} ino={} rc={}", what, ino, rc);
  }
  fuse_session* const session_;
};

}  // namespace

std::unique_ptr<KernelCache> FuseKernelCache(fuse_session* session) { return std::make_unique<FuseKernel>(session); }

Notifier::Notifier(client::Client& client, const MountOptions& options, XattrCache& xattrs, VersionTable& versions,
                   DirectoryAttrs& directory_attrs, DirectoryNames& directory_names)
    : transport_(client.transport()),
      options_(options),
      xattrs_(xattrs),
      versions_(versions),
      directory_attrs_(directory_attrs),
      directory_names_(directory_names),
      lease_ms_(static_cast<int>(client.transport().hello().push_ack_timeout_ms())) {
  transport_.SetPushHandler([inbox = inbox_, transport = &transport_](uint64_t generation, uint64_t push_id,
                                                                      proto::Push push) {
    {
      std::lock_guard lock(inbox->mutex);
      if (inbox->open) {
        inbox->queue.push_back({.generation = generation, .push_id = push_id, .invalidate = std::move(*push.mutable_invalidate())});
        inbox->wake.notify_one();
        return;
      }
    }
    transport->Ack(generation, push_id);  // nothing in a kernel yet, or any more
  });
}

Notifier::~Notifier() {
  Stop();
  transport_.SetPushHandler(nullptr);
}

void Notifier::Start(std::unique_ptr<KernelCache> kernel) {
  kernel_ = std::move(kernel);
  {
    std::lock_guard lock(inbox_->mutex);
    inbox_->open = true;
  }
  CheckLease();  // trusted from the first request, not from the thread's first round
  thread_ = std::thread([this] { Run(); });
}

void Notifier::Stop() {
  {
    std::lock_guard lock(inbox_->mutex);
    if (!inbox_->open) return;
    inbox_->open = false;
    inbox_->wake.notify_one();
  }
  if (thread_.joinable()) thread_.join();
  trusted_ = false;
  // Whatever was left is acknowledged: the kernel is going away with its caches.
  std::deque<Work> left;
  {
    std::lock_guard lock(inbox_->mutex);
    left.swap(inbox_->queue);
  }
  for (const Work& work : left)
    if (work.push_id != 0) transport_.Ack(work.generation, work.push_id);
}

bool Notifier::Trusted() const { return trusted_.load() && transport_.generation() == trusted_generation_.load(); }

CacheTimes Notifier::TimesFor(bool uncacheable) const {
  if (uncacheable) return {};
  if (Trusted()) return {options_.attr_timeout_s, options_.entry_timeout_s, options_.negative_timeout_s};
  return {std::min(options_.attr_timeout_s, kUntrustedCacheS), std::min(options_.entry_timeout_s, kUntrustedCacheS),
          std::min(options_.negative_timeout_s, kUntrustedCacheS)};
}

void Notifier::NoteEntry(uint64_t parent, std::string_view name) {
  auto evicted = grants_.NoteEntry(parent, name);
  if (!evicted) return;
  Work work;
  auto* entry = work.invalidate.add_entries();
  entry->set_parent(evicted->parent);
  entry->set_name(evicted->name);
  std::lock_guard lock(inbox_->mutex);
  if (inbox_->open) inbox_->queue.push_back(std::move(work));
  inbox_->wake.notify_one();
}

void Notifier::NoteNode(uint64_t ino, bool directory) {
  auto evicted = grants_.NoteNode(ino, directory);
  if (!evicted) return;
  Work work;
  work.invalidate.add_nodes(evicted->ino);
  if (evicted->directory) work.invalidate.add_listings(evicted->ino);
  std::lock_guard lock(inbox_->mutex);
  if (inbox_->open) inbox_->queue.push_back(std::move(work));
  inbox_->wake.notify_one();
}

void Notifier::Run() {
  std::unique_lock lock(inbox_->mutex);
  while (inbox_->open) {
    inbox_->wake.wait_for(lock, std::chrono::milliseconds(reexpire_.empty() ? kLeaseCheckMs : kReexpireMs),
                          [this] { return !inbox_->open || !inbox_->queue.empty(); });
    std::deque<Work> batch;
    batch.swap(inbox_->queue);
    lock.unlock();
    for (const Work& work : batch) {
      CarryOut(work);
      if (work.push_id != 0) transport_.Ack(work.generation, work.push_id);
    }
    ReexpireDue();
    CheckLease();
    lock.lock();
  }
}

void Notifier::CarryOut(const Work& work) {
  const auto& what = work.invalidate;
  if (what.all()) return DropAll("server");
  for (uint64_t ino : what.nodes()) {
    kernel_->InvalidateNode(ino, /*pages=*/false);
    xattrs_.Forget(ino);
    versions_.Forget(ino);  // its pages are not kept at the next open
    directory_attrs_.Forget(ino);
    directory_names_.Forget(ino);
    grants_.ForgetNode(ino);
  }
  for (uint64_t ino : what.listings()) {
    kernel_->InvalidateNode(ino, /*pages=*/true);
    directory_names_.Forget(ino);
  }
  for (const auto& entry : what.entries()) {
    directory_names_.Forget(entry.parent());
    if (expire_supported_) {
      kernel_->ExpireEntry(entry.parent(), entry.name());
      if (reexpire_.size() >= kGrantedEntriesMax) reexpire_.pop_front();
      reexpire_.push_back({.due = std::chrono::steady_clock::now() + std::chrono::milliseconds(kReexpireMs),
                           .parent = entry.parent(),
                           .name = entry.name()});
    }
    grants_.ForgetEntry(entry.parent(), entry.name());
  }
}

void Notifier::ReexpireDue() {
  const auto now = std::chrono::steady_clock::now();
  while (!reexpire_.empty() && reexpire_.front().due <= now) {
    kernel_->ExpireEntry(reexpire_.front().parent, reexpire_.front().name);
    reexpire_.pop_front();
  }
}

void Notifier::DropAll(const char* why) {
  KernelGrants::All all = grants_.TakeAll();
  spdlog::info("notifier.drop_all reason={} entries={} nodes={}", why, all.entries.size(), all.nodes.size());
  for (const auto& entry : all.entries)
    if (expire_supported_) kernel_->ExpireEntry(entry.parent, entry.name);
  for (const auto& node : all.nodes) kernel_->InvalidateNode(node.ino, node.directory);
  xattrs_.Clear();
  versions_.Clear();
  directory_attrs_.Clear();
  directory_names_.Clear();
}

// Trust lapses when the server has been silent for the lease or the connection is not the one
// trust was established on; it is regained on a live connection once everything handed out with
// long times has been dropped (again: answers racing the lapse may have noted more).
void Notifier::CheckLease() {
  if (lease_ms_ <= 0 || !expire_supported_) return;
  const auto now = net::ClientTransport::Clock::now();
  const bool fresh = transport_.connected() && now - transport_.last_heard() < std::chrono::milliseconds(lease_ms_);
  const uint64_t generation = transport_.generation();
  if (trusted_ && (!fresh || generation != trusted_generation_)) {
    trusted_ = false;
    spdlog::info("notifier.lease_lapsed connected={} generation={}", transport_.connected(), generation);
    DropAll("lease");
  }
  if (!trusted_ && fresh) {
    if (grants_.size() > 0) DropAll("lease");
    trusted_generation_ = generation;
    trusted_ = true;
  }
}

}  // namespace shoal::fuse
