// QuarantineAudit: at most one entry per class per interval, the held
// change written once the interval is over, counting the suppressed ones.

#include "server/nodes/quarantine_audit.h"

#include <gtest/gtest.h>

namespace zp::server {
namespace {

using namespace std::chrono_literals;

QuarantineAudit::Entry change(std::string cls, std::string action) {
  return {std::move(cls), std::move(action), "target", "log", false, 0};
}

TEST(QuarantineAuditTest, OneEntryPerClassPerInterval) {
  QuarantineAudit audit(60s);
  const MonotonicTime t0 = MonotonicTime{} + 1h;
  ASSERT_TRUE(audit.change(change("zone", "isolation.quarantined"), t0));
  EXPECT_TRUE(audit.change(change("kata", "isolation.quarantined"), t0));  // its own allowance
  EXPECT_FALSE(audit.change(change("zone", "isolation.released"), t0 + 1s));
  EXPECT_FALSE(audit.change(change("zone", "isolation.quarantined"), t0 + 2s));
  EXPECT_FALSE(audit.change(change("zone", "isolation.released"), t0 + 3s));
  EXPECT_TRUE(audit.holding());
  EXPECT_TRUE(audit.due(t0 + 59s).empty());
  auto due = audit.due(t0 + 60s);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].action, "isolation.released");  // the latest state
  EXPECT_EQ(due[0].suppressed, 2);
  EXPECT_FALSE(audit.holding());
  // The flush counts as the class's entry: the next change waits again.
  EXPECT_FALSE(audit.change(change("zone", "isolation.quarantined"), t0 + 61s));
  // A change once the interval is over is written at once, counting a held
  // one that due() did not hand out yet.
  auto late = audit.change(change("zone", "isolation.released"), t0 + 121s);
  ASSERT_TRUE(late);
  EXPECT_EQ(late->suppressed, 1);
  EXPECT_FALSE(audit.holding());
  EXPECT_EQ(QuarantineAudit::suppressedNote(0), "");
  EXPECT_EQ(QuarantineAudit::suppressedNote(1), "; 1 change suppressed");
  EXPECT_EQ(QuarantineAudit::suppressedNote(3), "; 3 changes suppressed");
}

TEST(QuarantineAuditTest, TakeAllHandsOutEveryHeldChange) {
  QuarantineAudit audit(60s);
  const MonotonicTime t0 = MonotonicTime{} + 1h;
  ASSERT_TRUE(audit.change(change("zone", "isolation.quarantined"), t0));
  EXPECT_FALSE(audit.change(change("zone", "isolation.released"), t0 + 1s));
  auto all = audit.takeAll();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].action, "isolation.released");
  EXPECT_EQ(all[0].suppressed, 0);
  EXPECT_TRUE(audit.takeAll().empty());
  // Classes quiet for an interval are forgotten: their next change is written.
  EXPECT_TRUE(audit.due(t0 + 10min).empty());
  EXPECT_TRUE(audit.change(change("zone", "isolation.quarantined"), t0 + 10min));
}

}  // namespace
}  // namespace zp::server
