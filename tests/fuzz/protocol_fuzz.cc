// Fuzz target: the agent line protocol (protocol/messages.h). One input is one
// line as it arrives on a connection, decoded both ways: as a request (what
// the agent reads from the server) and as a reply (what the server reads from
// an agent). Whatever decodes must encode to a line that decodes again and
// encodes to the same bytes (the codec is stable on its own output).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "protocol/messages.h"

using zp::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);

  if (auto request = zp::protocol::decodeRequest(line)) {
    const std::string encoded = zp::protocol::encodeRequest(*request);
    check(encoded.find('\n') == std::string::npos, "an encoded request is one line", encoded);
    auto again = zp::protocol::decodeRequest(encoded);
    check(again.has_value(), "an encoded request decodes", encoded);
    check(again->body.index() == request->body.index(), "the request keeps its type", encoded);
    check(zp::protocol::encodeRequest(*again) == encoded, "a request re-encodes the same", encoded);
  } else {
    check(!request.error().error.message.empty(), "a refused request says why");
  }

  if (auto reply = zp::protocol::decodeReply(line)) {
    const std::string encoded = zp::protocol::encodeReply(*reply);
    check(encoded.find('\n') == std::string::npos, "an encoded reply is one line", encoded);
    auto again = zp::protocol::decodeReply(encoded);
    check(again.has_value(), "an encoded reply decodes", encoded);
    check(again->body.index() == reply->body.index(), "the reply keeps its type", encoded);
    check(zp::protocol::encodeReply(*again) == encoded, "a reply re-encodes the same", encoded);
  }
  return 0;
}
