// Logging: spdlog, one process-wide logger set up once by each program's main().
//
// Events have stable names first, then key=value fields: "connection.dropped peer=1.2.3.4:5 reason=...".
#pragma once

#include <string>

#include <spdlog/spdlog.h>

namespace shoal {

struct LogOptions {
  std::string program;      // "shoald", "shoal-mount"
  std::string file;         // log to this file; empty: stderr
  bool syslog = false;      // log to syslog (the journal) instead of stderr
  std::string level = "info";
};

// Installs the default spdlog logger. Safe to call again (replaces the logger).
void SetUpLogging(const LogOptions& options);

}  // namespace shoal
