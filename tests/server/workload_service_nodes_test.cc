// WorkloadService and its nodes: pushes, resyncs and fencing, node loss,
// drain (docs/architecture.md §8.2, §8.5, §8.6).

#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <functional>
#include <future>
#include <set>

#include "workload_service_fixture.h"

namespace zp::server::testing {
namespace {

using namespace std::chrono_literals;
using api::RestartPolicy;
using api::WorkloadState;
using protocol::RemoveWorkload;
using protocol::StartWorkload;

// --- status from the nodes --------------------------------------------------

TEST_F(WorkloadServiceTest, PushesAreAppliedKeepingTheRecordsIdentity) {
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  auto r = accepted(spec("web-1", 512));
  sink_.events.clear();
  auto running = pushed(r, WorkloadState::kRunning, "Started");
  running.node = "elsewhere";  // identity fields come from the record
  running.created_at = TimePoint{};
  running.started_at = clock_.now();
  running.container_id = "c-1";
  apply("n1", running);
  auto now = status("web-1");
  EXPECT_EQ(now.state, WorkloadState::kRunning);
  EXPECT_EQ(now.container_id, "c-1");
  EXPECT_EQ(now.node, "n1");
  EXPECT_EQ(now.uid, r.status.uid);
  EXPECT_EQ(now.created_at, r.status.created_at);
  EXPECT_EQ(stored("web-1")->status, now);
  EXPECT_EQ(sink_.names(), std::vector<std::string>{"MODIFIED web-1"});
  apply("n1", running);  // nothing new: nothing written
  EXPECT_EQ(sink_.events.size(), 1u);

  apply("n1", pushed(r, WorkloadState::kFailed, "Error", 3));
  EXPECT_EQ(status("web-1").exit_code, 3);
  EXPECT_EQ(fleet_.view("n1").allocated, (api::Resources{0, 0}));
  // Final is final.
  apply("n1", pushed(r, WorkloadState::kRunning, "Started"));
  EXPECT_EQ(status("web-1").state, WorkloadState::kFailed);
  EXPECT_EQ(fleet_.count("RemoveWorkload"), 0);
}

TEST_F(WorkloadServiceTest, CopiesThatAreNotThePlacementAreFenced) {
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  fleet_.addNode("n2", {"kata"}, {4096, 4000});
  auto r = accepted(spec("web-1"));
  ASSERT_EQ(r.status.node, "n1");
  fleet_.clearCalls();
  auto stale = pushed(r, WorkloadState::kRunning, "Started");
  stale.uid = "0ld";
  apply("n1", stale);
  apply("n2", pushed(r, WorkloadState::kRunning, "Started"));  // right uid, wrong node
  auto ghost = pushed(r, WorkloadState::kRunning, "Started");
  ghost.id = "ghost";
  apply("n1", ghost);
  auto removes = fleet_.requests<RemoveWorkload>();
  ASSERT_EQ(removes.size(), 3u);
  EXPECT_EQ(fleet_.calls()[0].node, "n1");
  EXPECT_EQ(removes[0].id, "web-1");
  EXPECT_EQ(removes[0].uid, "0ld");
  EXPECT_EQ(fleet_.calls()[1].node, "n2");
  EXPECT_EQ(removes[1].uid, r.status.uid);
  EXPECT_EQ(removes[2].id, "ghost");
  // The placed copy was left alone, and the record did not change.
  EXPECT_EQ(fleet_.copies("n1").at("web-1").uid, r.status.uid);
  EXPECT_EQ(status("web-1").reason, "ContainerCreating");
}

TEST_F(WorkloadServiceTest, AStatusWriteThatFailsIsNotPublished) {
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  auto r = accepted(spec("web-1"));
  sink_.events.clear();
  store_.failNextApplies(1);
  apply("n1", pushed(r, WorkloadState::kRunning, "Started"));
  EXPECT_EQ(status("web-1").state, WorkloadState::kRunning);  // memory is the live view
  EXPECT_TRUE(sink_.events.empty());
  EXPECT_EQ(stored("web-1")->status.reason, "ContainerCreating");
}

TEST_F(WorkloadServiceTest, ResyncFencesStrayCopiesRedeliversMissingOnesAndAppliesTheRest) {
  fleet_.addNode("n1", {"kata"}, {8192, 8000});
  auto a = accepted(spec("a"));
  auto b = accepted(spec("b"));
  auto c = accepted(spec("c"));
  auto d = accepted(spec("d"));
  apply("n1", pushed(c, WorkloadState::kSucceeded, "Completed", 0));
  // The node restarted: it has a, an old copy of b, a copy nobody placed, and
  // lost c and d.
  auto& copies = fleet_.copies("n1");
  copies.clear();
  copies["a"] = {a.status.uid, a.spec};
  copies["b"] = {"0ld", b.spec};
  copies["ghost"] = {"g", b.spec};
  auto old_b = pushed(b, WorkloadState::kRunning, "Started");
  old_b.uid = "0ld";
  auto ghost = pushed(b, WorkloadState::kRunning, "Started");
  ghost.id = "ghost";
  ghost.uid = "g";
  fleet_.clearCalls();
  resync("n1", {pushed(a, WorkloadState::kRunning, "Started"), old_b, ghost});

  EXPECT_EQ(status("a").state, WorkloadState::kRunning);
  EXPECT_EQ(status("c").state, WorkloadState::kSucceeded);  // final: kept
  auto removes = fleet_.requests<RemoveWorkload>("n1");
  ASSERT_EQ(removes.size(), 2u);
  std::set<std::pair<std::string, std::string>> fenced;
  for (const auto& r : removes) fenced.emplace(r.id, r.uid);
  EXPECT_EQ(fenced, (std::set<std::pair<std::string, std::string>>{{"b", "0ld"}, {"ghost", "g"}}));
  auto starts = fleet_.requests<StartWorkload>("n1");
  std::set<std::string> started;
  for (const auto& s : starts) started.insert(s.workload.id + "/" + s.uid);
  EXPECT_EQ(started, (std::set<std::string>{"b/" + b.status.uid, "d/" + d.status.uid}));
  // b was fenced before its delivery, so the node took the new copy.
  EXPECT_EQ(copies.at("b").uid, b.status.uid);
  EXPECT_EQ(status("b").reason, "ContainerCreating");
  EXPECT_FALSE(copies.contains("ghost"));
  EXPECT_EQ(copies.size(), 3u);  // a, b, d
}

// --- node loss, heal, removal, drain ------------------------------------------

TEST_F(WorkloadServiceTest, ALostNodesWorkloadsArePlacedAgainOrEndNodeLost) {
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  fleet_.addNode("n2", {"kata"}, {4096, 4000});
  auto a = accepted(spec("a", 512, RestartPolicy::kOnFailure));
  auto b = accepted(spec("b", 512, RestartPolicy::kNever));
  auto c = accepted(spec("c", 512, RestartPolicy::kAlways));
  ASSERT_EQ(a.status.node, "n1");
  ASSERT_EQ(b.status.node, "n1");
  ASSERT_EQ(c.status.node, "n1");
  apply("n1", pushed(a, WorkloadState::kRunning, "Started"));
  fleet_.clearCalls();
  sink_.events.clear();

  fleet_.setState("n1", NodeState::kLost, "NoHeartbeat");
  nodeChanged("n1");
  for (const auto& [before, id] : {std::pair{a, "a"}, std::pair{c, "c"}}) {
    auto now = status(id);
    EXPECT_EQ(now.node, "n2") << id;
    EXPECT_TRUE(isHex32(now.uid)) << id;
    EXPECT_NE(now.uid, before.status.uid) << id;
    EXPECT_EQ(now.state, WorkloadState::kPending) << id;
    EXPECT_EQ(now.created_at, before.status.created_at) << id;
    EXPECT_EQ(stored(id)->status.node, "n2") << id;
    EXPECT_EQ(fleet_.copies("n2").at(id).uid, now.uid) << id;
  }
  EXPECT_EQ(status("a").exit_code, std::nullopt);
  const auto lost = status("b");
  EXPECT_EQ(lost.state, WorkloadState::kFailed);
  EXPECT_EQ(lost.reason, "NodeLost");
  EXPECT_EQ(lost.node, "n1");
  EXPECT_EQ(lost.finished_at, clock_.now());
  EXPECT_NE(lost.message.find("node \"n1\" was lost"), std::string::npos) << lost.message;
  EXPECT_EQ(stored("b")->status.reason, "NodeLost");
  EXPECT_EQ(fleet_.view("n1").allocated, (api::Resources{0, 0}));
  EXPECT_EQ(fleet_.view("n2").allocated, (api::Resources{1024, 500}));
  EXPECT_EQ(fleet_.count("StartWorkload", "n1"), 0);
  EXPECT_EQ(fleet_.count("StartWorkload", "n2"), 2);

  // The node comes back: its resync fences every old copy, so exactly one
  // copy of each workload runs.
  fleet_.setState("n1", NodeState::kReady);
  resync("n1", {pushed(a, WorkloadState::kRunning, "Started"),
                pushed(b, WorkloadState::kRunning, "Started"),
                pushed(c, WorkloadState::kRunning, "Started")});
  EXPECT_TRUE(fleet_.copies("n1").empty());
  for (const char* id : {"a", "c"}) EXPECT_EQ(fleet_.copiesOf(id), 1) << id;
  EXPECT_EQ(fleet_.copiesOf("b"), 0);
  EXPECT_EQ(status("b").state, WorkloadState::kFailed);  // not revived by its copy's status
  EXPECT_EQ(status("a").node, "n2");
}

TEST_F(WorkloadServiceTest, AQueuedDeliveryPlacedElsewhereDoesNotWaitForItsOldNode) {
  auto options = defaultOptions();
  options.deliveries_per_node = 2;
  makeService(options);
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  fleet_.addNode("n2", {"kata"}, {4096, 4000});
  fleet_.hold("n1");  // a slow node: its calls are not answered until released
  struct Release {  // also when an assertion ends the test early
    FakeFleet& fleet;
    ~Release() { fleet.release("n1"); }
  } release{fleet_};
  // Held calls keep the service busy, so settle() would never return.
  const auto runUntil = [&](const std::function<bool()>& done) {
    for (int i = 0; i < 600 && !done(); ++i) {
      io_.restart();
      if (io_.poll() == 0) io_.run_one_for(std::chrono::milliseconds(10));
    }
    return done();
  };
  for (const char* id : {"a", "b", "c"}) {
    auto submitted = boost::asio::co_spawn(
        io_, service_->submit(spec(id, 512, RestartPolicy::kAlways)), boost::asio::use_future);
    ASSERT_TRUE(runUntil([&] {
      return submitted.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
    }));
    auto record = submitted.get();
    ASSERT_TRUE(record) << record.error().toString();
    ASSERT_EQ(record->status.node, "n1") << id;
  }
  // a and b are being delivered; c waits in n1's queue.
  ASSERT_TRUE(runUntil([&] { return fleet_.heldCalls() == 2; }));

  // n1 is lost while its calls hang: c (no delivery under way) is placed on
  // n2 and delivered there at once, not after n1's calls end.
  fleet_.setState("n1", NodeState::kLost, "NoHeartbeat");
  service_->onNodeChanged(fleet_.view("n1"));
  ASSERT_TRUE(runUntil([&] { return fleet_.copies("n2").contains("c"); }));
  EXPECT_EQ(fleet_.copies("n2").at("c").uid, status("c").uid);
  EXPECT_EQ(status("c").node, "n2");
  EXPECT_EQ(fleet_.heldCalls(), 2);

  // n1 answers at last: c's old queue entry is skipped, never sent to n1.
  fleet_.release("n1");
  settle();
  EXPECT_EQ(fleet_.count("StartWorkload", "n1"), 2);
  EXPECT_EQ(fleet_.count("StartWorkload", "n2"), 1);
  EXPECT_EQ(fleet_.copiesOf("c"), 1);
}

TEST_F(WorkloadServiceTest, ALostWorkloadWithoutRoomWaitsAndIsPlacedWhenANodeReturns) {
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  auto a = accepted(spec("a", 512, RestartPolicy::kAlways));
  fleet_.setState("n1", NodeState::kLost);
  nodeChanged("n1");
  EXPECT_EQ(status("a").reason, "Unschedulable");
  EXPECT_EQ(status("a").message, "node \"n1\" was lost; 0/1 nodes available: 1 not ready");
  EXPECT_EQ(status("a").uid, "");
  EXPECT_EQ(fleet_.view("n1").allocated.memory_mb, 0);

  fleet_.setState("n1", NodeState::kReady);
  resync("n1", {pushed(a, WorkloadState::kRunning, "Started")});  // fenced
  nodeChanged("n1");
  EXPECT_EQ(status("a").node, "n1");
  EXPECT_NE(status("a").uid, a.status.uid);
  EXPECT_EQ(fleet_.copies("n1").at("a").uid, status("a").uid);
  EXPECT_EQ(fleet_.copiesOf("a"), 1);
}

TEST_F(WorkloadServiceTest, AnEvacuationThatCannotCommitIsUndoneAndRetriedByTick) {
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  fleet_.addNode("n2", {"kata"}, {4096, 4000});
  auto a = accepted(spec("a", 512, RestartPolicy::kAlways));
  store_.failNextApplies(1);
  fleet_.setState("n1", NodeState::kLost);
  nodeChanged("n1");
  EXPECT_EQ(status("a").node, "n1");
  EXPECT_EQ(status("a").uid, a.status.uid);
  EXPECT_EQ(fleet_.view("n2").allocated.memory_mb, 0);
  EXPECT_EQ(fleet_.count("StartWorkload", "n2"), 0);
  tick();
  EXPECT_EQ(status("a").node, "n2");
  EXPECT_EQ(fleet_.count("StartWorkload", "n2"), 1);
}

TEST_F(WorkloadServiceTest, ARemovedOrUnknownNodeIsTreatedAsLost) {
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  fleet_.addNode("n2", {"kata"}, {4096, 4000});
  accepted(spec("a", 512, RestartPolicy::kAlways));
  accepted(spec("b", 512, RestartPolicy::kNever));
  fleet_.removeNode("n1");
  service_->onNodeRemoved("n1");
  settle();
  EXPECT_EQ(status("a").node, "n2");
  EXPECT_EQ(status("b").reason, "NodeLost");
  EXPECT_NE(status("b").message.find("node \"n1\" was removed"), std::string::npos);

  // Without the event, tick() finds records on a node the fleet does not know.
  accepted(spec("c", 512, RestartPolicy::kAlways));  // binpack: n2
  fleet_.addNode("n3", {"kata"}, {4096, 4000});
  fleet_.removeNode("n2");
  tick();
  EXPECT_EQ(status("a").node, "n3");
  EXPECT_EQ(status("c").node, "n3");
}

TEST_F(WorkloadServiceTest, DrainRemovesEveryWorkloadAndPlacesTheRestartableOnesElsewhere) {
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  fleet_.addNode("n2", {"kata"}, {4096, 4000});
  auto a = accepted(spec("a", 512, RestartPolicy::kAlways));
  auto b = accepted(spec("b", 512, RestartPolicy::kNever));
  ASSERT_EQ(b.status.node, "n1");
  fleet_.view("n1").schedulable = false;
  fleet_.clearCalls();
  auto drained = run(service_->drain("n1"));
  ASSERT_TRUE(drained) << drained.error().toString();
  auto removes = fleet_.requests<RemoveWorkload>("n1");
  ASSERT_EQ(removes.size(), 2u);
  EXPECT_EQ(removes[0].id, "a");
  EXPECT_EQ(removes[0].uid, a.status.uid);
  EXPECT_EQ(removes[1].id, "b");
  EXPECT_TRUE(fleet_.copies("n1").empty());
  EXPECT_EQ(status("a").node, "n2");
  EXPECT_NE(status("a").uid, a.status.uid);
  EXPECT_EQ(fleet_.copies("n2").at("a").uid, status("a").uid);
  EXPECT_EQ(status("b").state, WorkloadState::kFailed);
  EXPECT_EQ(status("b").reason, "Drained");
  EXPECT_EQ(stored("b")->status.reason, "Drained");
  EXPECT_EQ(fleet_.view("n1").workloads, 0);
}

TEST_F(WorkloadServiceTest, DrainKeepsWhatItCannotRemoveAndSaysSo) {
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  accepted(spec("a", 512, RestartPolicy::kAlways));
  fleet_.failRemoves("n1", Error{Code::kUnavailable, "connection reset", ""});
  auto drained = run(service_->drain("n1"));
  ASSERT_FALSE(drained);
  EXPECT_EQ(drained.error().code, Code::kUnavailable);
  EXPECT_EQ(drained.error().message,
            "1 of 1 workloads could not be drained from node \"n1\": connection reset");
  EXPECT_EQ(status("a").node, "n1");
  EXPECT_EQ(fleet_.view("n1").workloads, 1);
  // A node that answers but cannot remove it yet: the same (finished later).
  fleet_.failRemoves("n1", Error{Code::kInternal, "container is in starting state", ""});
  drained = run(service_->drain("n1"));
  ASSERT_FALSE(drained);
  EXPECT_EQ(drained.error().code, Code::kUnavailable);
  EXPECT_NE(drained.error().message.find("Internal: container is in starting state"),
            std::string::npos)
      << drained.error().message;
}

}  // namespace
}  // namespace zp::server::testing
