#include "agent/pull_failure.h"

#include <gtest/gtest.h>

namespace zp::agent {
namespace {

using namespace std::chrono_literals;

// Messages as containerd 1.6 sent them on this project's machines.
struct Case {
  const char* image;
  Code code;
  const char* message;
  PullFailure want;
};

TEST(PullFailureTest, ClassifiesWhatContainerdSays) {
  const Case cases[] = {
      {"127.0.0.1:5000/zoneplane/nope:1", Code::kNotFound,
       "PullImage: failed to pull and unpack image \"127.0.0.1:5000/zoneplane/nope:1\": failed to "
       "resolve reference \"127.0.0.1:5000/zoneplane/nope:1\": 127.0.0.1:5000/zoneplane/nope:1: "
       "not found",
       PullFailure::kNotFound},
      {"127.0.0.1:1/a/b:1", Code::kInternal,
       "PullImage: failed to pull and unpack image \"127.0.0.1:1/a/b:1\": failed to resolve "
       "reference \"127.0.0.1:1/a/b:1\": failed to do request: Head "
       "\"http://127.0.0.1:1/v2/a/b/manifests/1\": dial tcp 127.0.0.1:1: connect: connection "
       "refused",
       PullFailure::kUnreachable},
      {"nosuchhost.invalid/a/b:1", Code::kInternal,
       "PullImage: failed to pull and unpack image \"nosuchhost.invalid/a/b:1\": failed to resolve "
       "reference \"nosuchhost.invalid/a/b:1\": failed to do request: Head "
       "\"https://nosuchhost.invalid/v2/a/b/manifests/1\": dial tcp: lookup nosuchhost.invalid on "
       "10.255.255.53:53: no such host",
       PullFailure::kUnreachable},
      {"127.0.0.1:9000/a/b:1", Code::kInternal,
       "PullImage: failed to pull and unpack image \"127.0.0.1:9000/a/b:1\": failed to resolve "
       "reference \"127.0.0.1:9000/a/b:1\": failed to do request: Head "
       "\"http://127.0.0.1:9000/v2/a/b/manifests/1\": net/http: HTTP/1.x transport connection "
       "broken: malformed HTTP status code \"JSON:\"",
       PullFailure::kBadResponse},
      {"127.0.0.1:44221/a/b:1", Code::kDeadlineExceeded, "PullImage: Deadline Exceeded",
       PullFailure::kTimeout},
      {"registry.test/private:1", Code::kInternal,
       "PullImage: failed to pull and unpack image \"registry.test/private:1\": failed to resolve "
       "reference \"registry.test/private:1\": pull access denied, repository does not exist or "
       "may require authorization: server message: insufficient_scope: authorization failed",
       PullFailure::kUnauthorized},
      {"registry.test/private:1", Code::kInternal,
       "PullImage: failed to pull and unpack image \"registry.test/private:1\": failed to resolve "
       "reference \"registry.test/private:1\": unexpected status from HEAD request to "
       "https://registry.test/v2/private/manifests/1: 401 Unauthorized",
       PullFailure::kUnauthorized},
      {"registry.test/app:1", Code::kInternal,
       "PullImage: failed to pull and unpack image \"registry.test/app:1\": failed to copy: "
       "read tcp 10.0.0.1:5000: i/o timeout",
       PullFailure::kTimeout},
      {"registry.test/app:1", Code::kInternal,
       "PullImage: failed to pull and unpack image \"registry.test/app:1\": failed to extract "
       "layer: write /var/lib/x: no space left on device",
       PullFailure::kOther},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(classifyPullError(c.image, Error{c.code, c.message, ""}), c.want) << c.message;
  }
}

TEST(PullFailureTest, TheImageNameCannotSteerTheClassification) {
  // A repository named like an error: its name in the message is ignored.
  const std::string image = "registry.test/unauthorized/connection-refused:1";
  const Error error{
      Code::kNotFound,
      "PullImage: failed to resolve reference \"" + image + "\": " + image + ": not found", ""};
  EXPECT_EQ(classifyPullError(image, error), PullFailure::kNotFound);
}

TEST(PullFailureTest, MessagesNameTheImageTheRegistryAndTheKind) {
  const std::string image = "127.0.0.1:9000/a/b:1";
  const auto m = pullFailureMessage(image, PullFailure::kBadResponse, 300s);
  EXPECT_EQ(m.rfind("pull of image \"127.0.0.1:9000/a/b:1\" failed: bad response: ", 0), 0u) << m;
  EXPECT_NE(m.find("127.0.0.1:9000 is not an OCI registry"), std::string::npos) << m;
  const auto t = pullFailureMessage("busybox:1", PullFailure::kTimeout, 300s);
  EXPECT_NE(t.find("failed: timeout"), std::string::npos) << t;
  EXPECT_NE(t.find("registry docker.io"), std::string::npos) << t;
  EXPECT_NE(t.find("300 s"), std::string::npos) << t;
  for (auto kind : {PullFailure::kNotFound, PullFailure::kUnauthorized, PullFailure::kUnreachable,
                    PullFailure::kOther}) {
    const auto msg = pullFailureMessage(image, kind, 300s);
    EXPECT_NE(msg.find(std::string(pullFailureName(kind))), std::string::npos) << msg;
    EXPECT_NE(msg.find("\"" + image + "\""), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace zp::agent
