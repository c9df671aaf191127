#include "server/workloads/watch_sink.h"

namespace zp::server {

std::string_view watchEventTypeName(WatchEventType type) {
  switch (type) {
    case WatchEventType::kAdded: return "ADDED";
    case WatchEventType::kModified: return "MODIFIED";
    case WatchEventType::kDeleted: return "DELETED";
  }
  return "MODIFIED";
}

}  // namespace zp::server
