// Fuzz target: the agent's strict decoder of the probe's report
// (probe/report_json.h, docs/architecture.md §10.1). The report is printed
// by zoneplane-probe inside a workload's container, so a hostile workload
// writes whatever it likes. A decoded report must encode to a document that
// decodes and encodes to the same bytes.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "probe/report_json.h"

using zp::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto report = zp::probe::decodeReport(text)) {
    const std::string encoded = zp::probe::encodeReport(*report);
    check(encoded.size() <= zp::probe::kMaxReportBytes, "a decoded report encodes within the bound");
    auto again = zp::probe::decodeReport(encoded);
    check(again.has_value(), "an encoded report decodes", encoded);
    check(zp::probe::encodeReport(*again) == encoded, "a report re-encodes the same", encoded);
  } else {
    check(!report.error().message.empty(), "a refused report says why");
  }
  return 0;
}
