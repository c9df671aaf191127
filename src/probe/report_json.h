#pragma once
// The JSON form of a probe Report (docs/architecture.md §10.1). The encoder
// writes every field; the decoder is strict about types and bounds (the
// report comes out of a workload's container: untrusted input) and refuses a
// document over kMaxReportBytes (one trailing newline, as zoneplane-probe
// prints it, included and accepted) or of another format.

#include <string>
#include <string_view>

#include "common/status.h"
#include "probe/report.h"

namespace zp::probe {

std::string encodeReport(const Report& report);
Result<Report> decodeReport(std::string_view json_text);

}  // namespace zp::probe
