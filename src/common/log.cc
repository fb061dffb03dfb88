#include "common/log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/syslog_sink.h>

namespace shoal {

void SetUpLogging(const LogOptions& options) {
  spdlog::drop(options.program);
  std::shared_ptr<spdlog::logger> logger;
  if (!options.file.empty()) {
    logger = spdlog::basic_logger_mt(options.program, options.file);
    logger->flush_on(spdlog::level::info);
  } else if (options.syslog) {
    logger = spdlog::syslog_logger_mt(options.program, options.program, LOG_PID);
  } else {
    logger = spdlog::stderr_logger_mt(options.program);
  }
  logger->set_level(spdlog::level::from_str(options.level));
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
  spdlog::set_default_logger(logger);
}

}  // namespace shoal
