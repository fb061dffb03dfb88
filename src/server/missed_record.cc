#include "server/missed_record.h"

#include <google/protobuf/descriptor.h>

namespace shoal::server {

void AddTouched(const proto::ReplicateRequest& forward, std::unordered_set<uint64_t>& nodes) {
  for (const proto::NodeTimes& times : forward.times()) nodes.insert(times.node());
  if (forward.node_id() != 0) nodes.insert(forward.node_id());
  if (forward.node() != 0) nodes.insert(forward.node());
  const proto::Request& request = forward.request();
  const auto* op = proto::Request::descriptor()->FindFieldByNumber(request.op_case());
  if (op == nullptr || op->message_type() == nullptr) return;
  const google::protobuf::Message& message = request.GetReflection()->GetMessage(request, op);
  const auto* descriptor = message.GetDescriptor();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const auto* field = descriptor->field(i);
    if (field->type() != google::protobuf::FieldDescriptor::TYPE_UINT64 || field->is_repeated()) continue;
    if (field->name() != "node" && field->name() != "parent" && field->name() != "new_parent") continue;
    if (uint64_t node = message.GetReflection()->GetUInt64(message, field); node != 0) nodes.insert(node);
  }
}

void MissedRecord::Note(uint64_t lsn, const proto::ReplicateRequest& forward) {
  std::unordered_set<uint64_t> touched;
  AddTouched(forward, touched);
  for (auto& [brick, missed] : missed_) {
    if (!missed.nodes) continue;
    missed.nodes->insert(touched.begin(), touched.end());
    if (missed.nodes->size() > kNodesMax) missed.nodes.reset();
  }
  recent_.emplace_back(lsn, std::vector<uint64_t>(touched.begin(), touched.end()));
  if (recent_.size() > kRecentMax) recent_.pop_front();
}

void MissedRecord::Depart(uint32_t brick, const std::string& where, uint64_t first_missed) {
  Brick& missed = missed_[brick];
  missed.where = where;
  // Known only if the record still holds the first change the brick missed, or if that change
  // is still to come.
  const bool covered =
      recent_.empty() || recent_.front().first <= first_missed || recent_.back().first < first_missed;
  missed.nodes.reset();
  if (!covered) return;
  missed.nodes.emplace();
  for (const auto& [lsn, nodes] : recent_)
    if (lsn >= first_missed) missed.nodes->insert(nodes.begin(), nodes.end());
}

std::optional<std::unordered_set<uint64_t>> MissedRecord::Missed(uint32_t brick, const std::string& where) const {
  auto it = missed_.find(brick);
  if (it == missed_.end() || it->second.where != where) return std::nullopt;
  return it->second.nodes;
}

void MissedRecord::Clear() {
  recent_.clear();
  missed_.clear();
}

}  // namespace shoal::server
