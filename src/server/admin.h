// The admin requests a server answers on an admin connection (a hello that names no volume):
// the pool's (`shoal peer/pool ...`), the volumes' (`shoal volume ...`, a client locating the
// volume it mounts) and those servers send each other.
#pragma once

#include <string>

#include "proto/shoal.pb.h"
#include "server/pool.h"
#include "server/volume_admin.h"

namespace shoal::server {

// What admin requests are answered by; both are set once the server's etcd member serves.
struct AdminServices {
  Pool* pool = nullptr;
  VolumeAdmin* volumes = nullptr;
};

bool IsAdminRequest(const proto::Request& request);

// Answers an admin request; may block on etcd and other servers (run it on the worker pool).
proto::Response ServeAdmin(AdminServices& admin, const proto::Request& request, const std::string& peer);

}  // namespace shoal::server
