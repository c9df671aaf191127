// WorkloadService with a FakeFleet, a FakeStore behind a real CommitQueue and
// a FakeClock (docs/architecture.md §8.3–§8.7).

#include "server/workloads/workload_service.h"

#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <future>
#include <set>

#include "service_fixture.h"

namespace zp::server::testing {
namespace {

using namespace std::chrono_literals;
using api::RestartPolicy;
using api::WorkloadState;
using protocol::RemoveWorkload;
using protocol::StartWorkload;

// A status as the node would push it for the record's current copy.
api::WorkloadStatus pushed(const store::WorkloadRecord& record, WorkloadState state,
                           std::string reason, std::optional<int> exit_code = std::nullopt) {
  api::WorkloadStatus status;
  status.id = record.spec.id;
  status.uid = record.status.uid;
  status.node = record.status.node;
  status.state = state;
  status.reason = std::move(reason);
  status.exit_code = exit_code;
  return status;
}

bool isHex32(const std::string& uid) {
  return uid.size() == 32 && uid.find_first_not_of("0123456789abcdef") == std::string::npos;
}

class WorkloadServiceTest : public ServiceFixture {
 protected:
  void apply(const std::string& node, const api::WorkloadStatus& status) {
    service_->onStatus(node, status);
    settle();
  }
  void resync(const std::string& node, std::vector<api::WorkloadStatus> items) {
    run(service_->onResync(node, std::move(items)));
  }
  std::vector<std::string> ids(const Result<ListPage>& page) {
    std::vector<std::string> out;
    EXPECT_TRUE(page) << page.error().toString();
    if (page) {
      for (const auto& r : page->items) out.push_back(r.spec.id);
    }
    return out;
  }
  // Forgets the service and the fleet, as a server restart does.
  void restartService() {
    settle();
    service_->stop();
    service_.reset();
    fleet_ = FakeFleet{};
  }
};

// --- submit -----------------------------------------------------------------

TEST_F(WorkloadServiceTest, SubmitPlacesCommitsThenDelivers) {
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  fleet_.addNode("n2", {"kata"}, {2048, 4000});
  int stored_at_start = -1;
  fleet_.on_call = [&](const FakeFleet::Call& call) {
    if (std::holds_alternative<StartWorkload>(call.request)) {
      stored_at_start = static_cast<int>(store_.workloadCount());
    }
  };
  const TimePoint now = clock_.now();
  auto r = accepted(spec("web-1", 512));
  EXPECT_EQ(r.status.node, "n2");  // binpack: the node left with the least free memory
  EXPECT_EQ(r.status.state, WorkloadState::kPending);
  EXPECT_EQ(r.status.reason, "Scheduled");
  EXPECT_EQ(r.status.message, "scheduled to node \"n2\"");
  EXPECT_TRUE(isHex32(r.status.uid)) << r.status.uid;
  EXPECT_EQ(r.status.created_at, now);
  EXPECT_EQ(r.spec.runtime_class, "kata");
  EXPECT_EQ(r.spec.trust, api::TrustLevel::kUntrusted);

  EXPECT_EQ(stored_at_start, 1);  // durable before StartWorkload was sent
  ASSERT_TRUE(stored("web-1"));
  EXPECT_EQ(stored("web-1")->status.uid, r.status.uid);
  EXPECT_EQ(fleet_.view("n2").allocated, (api::Resources{512, 250}));
  EXPECT_EQ(fleet_.view("n2").workloads, 1);
  EXPECT_EQ(fleet_.view("n1").allocated, (api::Resources{0, 0}));

  auto starts = fleet_.requests<StartWorkload>("n2");
  ASSERT_EQ(starts.size(), 1u);
  EXPECT_EQ(starts[0].uid, r.status.uid);
  EXPECT_EQ(starts[0].workload, r.spec);
  EXPECT_EQ(fleet_.copies("n2").at("web-1").uid, r.status.uid);
  // The node's answer is applied.
  EXPECT_EQ(status("web-1").reason, "ContainerCreating");
  EXPECT_EQ(status("web-1").node, "n2");
  EXPECT_EQ(sink_.names(), (std::vector<std::string>{"ADDED web-1", "MODIFIED web-1"}));
  EXPECT_EQ(stored("web-1")->status.reason, "ContainerCreating");
}

TEST_F(WorkloadServiceTest, SubmitGeneratesAnIdAndUidsAreNew) {
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  api::WorkloadSpec s;
  s.image = "busybox:1.36";
  auto a = accepted(s);
  auto b = accepted(s);
  ASSERT_EQ(a.spec.id.size(), 13u);
  EXPECT_EQ(a.spec.id.substr(0, 3), "wl-");
  EXPECT_NE(a.spec.id, b.spec.id);
  EXPECT_NE(a.status.uid, b.status.uid);
  EXPECT_EQ(a.spec.memory_mb, api::kDefaultMemoryMb);
  EXPECT_EQ(a.spec.cpu_millicores, api::kDefaultCpuMillicores);
}

TEST_F(WorkloadServiceTest, NoFitIsAcceptedUnschedulableWithTheReasons) {
  fleet_.addNode("n1", {"kata"}, {256, 4000});
  fleet_.addNode("n2", {"kata"}, {4096, 4000}).schedulable = false;
  auto r = accepted(spec("big", 512));
  EXPECT_EQ(r.status.state, WorkloadState::kPending);
  EXPECT_EQ(r.status.reason, "Unschedulable");
  EXPECT_EQ(r.status.message, "0/2 nodes available: 1 cordoned, 1 insufficient memory");
  EXPECT_EQ(r.status.node, "");
  EXPECT_EQ(r.status.uid, "");
  EXPECT_EQ(r.spec.runtime_class, "");  // chosen once placed
  EXPECT_TRUE(fleet_.calls().empty());
  EXPECT_EQ(fleet_.view("n1").allocated, (api::Resources{0, 0}));
  ASSERT_TRUE(stored("big"));
  EXPECT_EQ(stored("big")->status.reason, "Unschedulable");
  EXPECT_EQ(sink_.names(), std::vector<std::string>{"ADDED big"});
}

TEST_F(WorkloadServiceTest, InvalidSubmissionsAreRefusedNamingTheField) {
  fleet_.addNode("n1", {"native"}, {4096, 4000});
  auto untrusted = submit(spec("web-1"));  // no node offers a class untrusted may use
  ASSERT_FALSE(untrusted);
  EXPECT_EQ(untrusted.error().code, Code::kInvalidArgument);
  EXPECT_EQ(untrusted.error().field, "trust");

  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  auto bad_id = spec("Bad_Id");
  auto small = spec("small", 1);
  auto baseline = spec("base");
  baseline.security.profile = api::Profile::kBaseline;
  auto native = spec("native");
  native.runtime_class = "native";
  auto gvisor = spec("gvisor");
  gvisor.runtime_class = "gvisor";
  const std::pair<api::WorkloadSpec, std::string> cases[] = {{bad_id, "id"},
                                                             {small, "memory_mb"},
                                                             {baseline, "security.profile"},
                                                             {native, "runtime_class"},
                                                             {gvisor, "runtime_class"}};
  for (const auto& [s, field] : cases) {
    auto refused = submit(s);
    ASSERT_FALSE(refused) << s.id;
    EXPECT_EQ(refused.error().code, Code::kInvalidArgument) << s.id;
    EXPECT_EQ(refused.error().field, field) << s.id << ": " << refused.error().message;
  }
  EXPECT_EQ(store_.workloadCount(), 0u);
  EXPECT_TRUE(fleet_.calls().empty());
  EXPECT_EQ(fleet_.view("n1").allocated, (api::Resources{0, 0}));
  EXPECT_TRUE(sink_.events.empty());
}

TEST_F(WorkloadServiceTest, ADuplicateIdIsAlreadyExistsEvenWhileTheFirstCommits) {
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  accepted(spec("web-1"));
  auto again = submit(spec("web-1"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Code::kAlreadyExists);
  EXPECT_EQ(again.error().field, "id");

  auto first = boost::asio::co_spawn(io_, service_->submit(spec("dup")), boost::asio::use_future);
  auto second = boost::asio::co_spawn(io_, service_->submit(spec("dup")), boost::asio::use_future);
  auto a = wait(first);
  auto b = wait(second);
  EXPECT_NE(a.has_value(), b.has_value());
  EXPECT_EQ((a ? b : a).error().code, Code::kAlreadyExists);
  EXPECT_EQ(fleet_.count("StartWorkload"), 2);  // web-1 and one dup
  EXPECT_EQ(fleet_.view("n1").workloads, 2);
}

TEST_F(WorkloadServiceTest, ACommitFailureUndoesTheAllocationAndSendsNothing) {
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  store_.failNextApplies(1);
  auto refused = submit(spec("web-1", 512));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Code::kUnavailable);
  EXPECT_NE(refused.error().message.find("injected failure"), std::string::npos)
      << refused.error().message;
  EXPECT_EQ(fleet_.view("n1").allocated, (api::Resources{0, 0}));
  EXPECT_EQ(fleet_.view("n1").workloads, 0);
  EXPECT_TRUE(fleet_.calls().empty());
  EXPECT_EQ(service_->get("web-1").error().code, Code::kNotFound);
  EXPECT_TRUE(sink_.events.empty());
  // Nothing is left behind: the same id is accepted next.
  auto r = accepted(spec("web-1", 512));
  EXPECT_EQ(r.status.node, "n1");
  EXPECT_EQ(fleet_.view("n1").allocated, (api::Resources{512, 250}));
}

TEST_F(WorkloadServiceTest, AClassMemoryFloorIsCounted) {
  fleet_.addNode("zone", {"edera-zone"}, {1000, 8000});
  for (const char* id : {"z1", "z2", "z3"}) {
    EXPECT_EQ(accepted(spec(id, 128)).status.node, "zone");
  }
  EXPECT_EQ(fleet_.view("zone").allocated, (api::Resources{900, 750}));
  auto fourth = accepted(spec("z4", 128));
  EXPECT_EQ(fourth.status.reason, "Unschedulable");
  EXPECT_EQ(fourth.status.message, "0/1 nodes available: 1 insufficient memory");
}

// --- the Unschedulable queue ------------------------------------------------

TEST_F(WorkloadServiceTest, TheQueueIsRetriedInSubmissionOrderWhenAWorkloadIsRemoved) {
  fleet_.addNode("n1", {"kata"}, {1024, 4000});
  accepted(spec("a", 800));
  EXPECT_EQ(accepted(spec("z-first", 600)).status.reason, "Unschedulable");
  EXPECT_EQ(accepted(spec("b-second", 600)).status.reason, "Unschedulable");
  ASSERT_TRUE(remove("a"));
  EXPECT_EQ(status("z-first").node, "n1");
  EXPECT_EQ(status("z-first").reason, "ContainerCreating");
  EXPECT_EQ(status("b-second").reason, "Unschedulable");
  EXPECT_EQ(status("b-second").message, "0/1 nodes available: 1 insufficient memory");
  EXPECT_EQ(stored("z-first")->status.node, "n1");
  EXPECT_EQ(fleet_.view("n1").allocated.memory_mb, 600);
}

TEST_F(WorkloadServiceTest, TheQueueIsRetriedWhenAWorkloadEnds) {
  fleet_.addNode("n1", {"kata"}, {1024, 4000});
  auto a = accepted(spec("a", 800));
  accepted(spec("b", 600));
  apply("n1", pushed(record("a"), WorkloadState::kSucceeded, "Completed", 0));
  EXPECT_EQ(status("a").state, WorkloadState::kSucceeded);
  EXPECT_EQ(status("b").node, "n1");
  EXPECT_EQ(fleet_.view("n1").allocated.memory_mb, 600);
  EXPECT_EQ(fleet_.copies("n1").at("b").uid, status("b").uid);
}

TEST_F(WorkloadServiceTest, TheQueueIsRetriedWhenANodeBecomesReadyOrIsUncordoned) {
  fleet_.addNode("n1", {"kata"}, {1024, 4000});
  fleet_.setState("n1", NodeState::kNotReady, "NoHeartbeat");
  EXPECT_EQ(accepted(spec("z-first", 600)).status.message, "0/1 nodes available: 1 not ready");
  accepted(spec("b-second", 600));
  fleet_.setState("n1", NodeState::kReady);
  nodeChanged("n1");
  EXPECT_EQ(status("z-first").node, "n1");
  EXPECT_EQ(status("b-second").node, "");

  fleet_.addNode("n2", {"kata"}, {1024, 4000}).schedulable = false;
  nodeChanged("n2");  // cordoned: no capacity appeared
  EXPECT_EQ(status("b-second").node, "");
  EXPECT_EQ(status("b-second").message, "0/1 nodes available: 1 insufficient memory");
  fleet_.view("n2").schedulable = true;
  nodeChanged("n2");
  EXPECT_EQ(status("b-second").node, "n2");
  EXPECT_EQ(fleet_.count("StartWorkload", "n2"), 1);
}

TEST_F(WorkloadServiceTest, AQueuePassThatCannotCommitIsRetriedByTick) {
  fleet_.addNode("n1", {"kata"}, {1024, 4000});
  fleet_.setState("n1", NodeState::kNotReady);
  accepted(spec("a", 600));
  fleet_.setState("n1", NodeState::kReady);
  store_.failNextApplies(1);
  nodeChanged("n1");
  EXPECT_EQ(status("a").node, "");  // undone
  EXPECT_EQ(fleet_.view("n1").allocated.memory_mb, 0);
  EXPECT_EQ(fleet_.count("StartWorkload"), 0);
  tick();
  EXPECT_EQ(status("a").node, "n1");
  EXPECT_EQ(fleet_.count("StartWorkload"), 1);
}

// --- delivery ---------------------------------------------------------------

TEST_F(WorkloadServiceTest, TransientDeliveryFailuresAreRetriedWithCappedBackoff) {
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  fleet_.failStarts("n1", Error{Code::kUnavailable, "runtime restarting", ""});
  accepted(spec("wl-1"));
  EXPECT_EQ(status("wl-1").state, WorkloadState::kPending);
  EXPECT_EQ(status("wl-1").reason, "Scheduled");
  EXPECT_EQ(status("wl-1").message,
            "not yet delivered to node \"n1\" (attempt 1 failed; next attempt in 2s): runtime "
            "restarting");
  int expected = 1;
  EXPECT_EQ(fleet_.count("StartWorkload"), expected);
  for (auto wait : {2s, 4s, 8s, 16s, 32s, 60s, 60s}) {
    tick();
    clock_.advance(wait - 1ms);
    tick();
    EXPECT_EQ(fleet_.count("StartWorkload"), expected) << wait.count();
    clock_.advance(1ms);
    tick();
    EXPECT_EQ(fleet_.count("StartWorkload"), ++expected) << wait.count();
  }
  EXPECT_NE(status("wl-1").message.find("attempt 8 failed; next attempt in 60s"), std::string::npos)
      << status("wl-1").message;
  EXPECT_NE(stored("wl-1")->status.message.find("attempt 8 failed"), std::string::npos);

  fleet_.failStarts("n1", std::nullopt);
  clock_.advance(60s);
  tick();
  EXPECT_EQ(status("wl-1").reason, "ContainerCreating");
  clock_.advance(1h);
  tick();
  EXPECT_EQ(fleet_.count("StartWorkload"), expected + 1);
}

TEST_F(WorkloadServiceTest, RetriesWaitWhileTheNodeIsNotReady) {
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  fleet_.setConnected("n1", false);
  accepted(spec("wl-1"));
  EXPECT_EQ(fleet_.count("StartWorkload"), 1);
  fleet_.setState("n1", NodeState::kNotReady, "ConnectionRefused");
  clock_.advance(1h);
  tick();
  EXPECT_EQ(fleet_.count("StartWorkload"), 1);
  fleet_.setConnected("n1", true);
  fleet_.setState("n1", NodeState::kReady);
  tick();
  EXPECT_EQ(fleet_.count("StartWorkload"), 2);
  EXPECT_EQ(status("wl-1").reason, "ContainerCreating");
}

TEST_F(WorkloadServiceTest, APermanentRefusalEndsFailedAndFreesTheCapacity) {
  fleet_.addNode("n1", {"kata"}, {1024, 4000});
  fleet_.failStartsOf("a", Error{Code::kUnavailable, "not now", ""});
  accepted(spec("a", 800));
  EXPECT_EQ(accepted(spec("b", 600)).status.reason, "Unschedulable");
  fleet_.failStartsOf("a", Error{Code::kInvalidArgument, "image not allowed here", "image"});
  clock_.advance(2s);
  tick();
  const auto failed = status("a");
  EXPECT_EQ(failed.state, WorkloadState::kFailed);
  EXPECT_EQ(failed.reason, "DeliveryFailed");
  EXPECT_EQ(failed.message,
            "node \"n1\" refused the workload (InvalidArgument, 2 attempts): image not allowed "
            "here");
  EXPECT_EQ(failed.finished_at, clock_.now());
  EXPECT_EQ(stored("a")->status.reason, "DeliveryFailed");
  EXPECT_EQ(fleet_.view("n1").allocated.memory_mb, 600);
  // Its capacity went to the queue.
  EXPECT_EQ(status("b").node, "n1");
  EXPECT_EQ(status("b").reason, "ContainerCreating");
  // Final: never sent again.
  const int starts = fleet_.count("StartWorkload", "n1");
  EXPECT_EQ(starts, 3);
  fleet_.failStartsOf("a", std::nullopt);
  clock_.advance(1h);
  tick();
  EXPECT_EQ(fleet_.count("StartWorkload", "n1"), starts);
  EXPECT_EQ(status("a").state, WorkloadState::kFailed);
}

TEST_F(WorkloadServiceTest, AnInternalErrorThatPersistsEndsFailedAfterFiveAttempts) {
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  fleet_.failStarts("n1", Error{Code::kInternal, "reply is not a JSON object", ""});
  accepted(spec("wl-1"));
  for (int attempt = 2; attempt < kMaxInternalErrorAttempts; ++attempt) {
    clock_.advance(60s);
    tick();
    EXPECT_EQ(status("wl-1").state, WorkloadState::kPending) << attempt;
  }
  clock_.advance(60s);
  tick();
  EXPECT_EQ(status("wl-1").state, WorkloadState::kFailed);
  EXPECT_EQ(status("wl-1").reason, "DeliveryFailed");
  EXPECT_NE(status("wl-1").message.find("(Internal, 5 attempts)"), std::string::npos)
      << status("wl-1").message;
  clock_.advance(1h);
  tick();
  EXPECT_EQ(fleet_.count("StartWorkload"), kMaxInternalErrorAttempts);
  EXPECT_EQ(fleet_.view("n1").workloads, 0);
}

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
}

// --- remove -------------------------------------------------------------------

TEST_F(WorkloadServiceTest, RemoveStopsTheCopyDeletesTheRecordAndPublishes) {
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  auto r = accepted(spec("web-1", 512));
  fleet_.clearCalls();
  auto removed = remove("web-1", 3s);
  ASSERT_TRUE(removed) << removed.error().toString();
  EXPECT_EQ(removed->spec.id, "web-1");
  auto removes = fleet_.requests<RemoveWorkload>("n1");
  ASSERT_EQ(removes.size(), 1u);
  EXPECT_EQ(removes[0].uid, r.status.uid);
  EXPECT_EQ(removes[0].timeout_seconds, 3);
  EXPECT_TRUE(fleet_.copies("n1").empty());
  EXPECT_EQ(service_->get("web-1").error().code, Code::kNotFound);
  EXPECT_FALSE(stored("web-1"));
  EXPECT_EQ(fleet_.view("n1").allocated, (api::Resources{0, 0}));
  EXPECT_EQ(sink_.names().back(), "DELETED web-1");
  EXPECT_EQ(remove("web-1").error().code, Code::kNotFound);
}

TEST_F(WorkloadServiceTest, RemoveOnAnUnreachableNodeKeepsTheRecord) {
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  accepted(spec("web-1", 512));
  fleet_.setConnected("n1", false);
  auto refused = remove("web-1");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Code::kUnavailable);
  EXPECT_NE(refused.error().message.find("unreachable"), std::string::npos);
  EXPECT_TRUE(service_->get("web-1"));
  EXPECT_TRUE(stored("web-1"));
  EXPECT_EQ(fleet_.view("n1").allocated.memory_mb, 512);
  fleet_.setConnected("n1", true);
  EXPECT_TRUE(remove("web-1"));
}

TEST_F(WorkloadServiceTest, RemoveOfAWorkloadOnALostNodeDoesNotAskIt) {
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  auto r = accepted(spec("job"));
  apply("n1", pushed(r, WorkloadState::kSucceeded, "Completed", 0));
  fleet_.setState("n1", NodeState::kLost);
  fleet_.setConnected("n1", false);
  fleet_.clearCalls();
  EXPECT_TRUE(remove("job"));
  EXPECT_TRUE(fleet_.calls().empty());
}

TEST_F(WorkloadServiceTest, RemoveWhenTheStoreFailsKeepsTheRecord) {
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  accepted(spec("web-1"));
  store_.failNextApplies(1);
  auto refused = remove("web-1");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Code::kUnavailable);
  EXPECT_TRUE(service_->get("web-1"));
  EXPECT_TRUE(remove("web-1"));  // the node no longer has it: removed still
}

// --- reads --------------------------------------------------------------------

TEST_F(WorkloadServiceTest, ListPagesAreStableUnderInsertsAndRemovals) {
  fleet_.addNode("n1", {"kata"}, {65536, 64000});
  for (const char* id : {"w1", "w2", "w3", "w4", "w5"}) {
    accepted(spec(id));
    clock_.advance(1s);
  }
  EXPECT_EQ(ids(service_->list({}, std::nullopt, "")),
            (std::vector<std::string>{"w1", "w2", "w3", "w4", "w5"}));
  auto first = service_->list({}, 2, "");
  EXPECT_EQ(ids(first), (std::vector<std::string>{"w1", "w2"}));
  ASSERT_FALSE(first->next.empty());
  // Changes between pages neither repeat nor skip what was there.
  accepted(spec("a0"));  // created last, so listed last despite its id
  ASSERT_TRUE(remove("w2"));
  auto second = service_->list({}, 2, first->next);
  EXPECT_EQ(ids(second), (std::vector<std::string>{"w3", "w4"}));
  auto third = service_->list({}, 2, second->next);
  EXPECT_EQ(ids(third), (std::vector<std::string>{"w5", "a0"}));
  EXPECT_TRUE(third->next.empty());
  auto exact = service_->list({}, 5, "");
  EXPECT_EQ(ids(exact).size(), 5u);
  EXPECT_TRUE(exact->next.empty());

  for (const char* bad : {"x", "12", ".w1", "abc.w1", "1.Bad_Id"}) {
    auto refused = service_->list({}, 2, bad);
    ASSERT_FALSE(refused) << bad;
    EXPECT_EQ(refused.error().field, "continue") << bad;
  }
  EXPECT_EQ(service_->list({}, 0, "").error().field, "limit");
}

TEST_F(WorkloadServiceTest, ListFiltersAndTheViewOfANodeThatIsNotReady) {
  fleet_.addNode("n1", {"kata"}, {1024, 4000});
  fleet_.addNode("n2", {"kata"}, {4096, 4000});
  auto a = accepted(spec("a", 800));
  auto b = accepted(spec("b", 800));
  ASSERT_EQ(a.status.node, "n1");
  ASSERT_EQ(b.status.node, "n2");
  apply("n1", pushed(a, WorkloadState::kRunning, "Started"));
  fleet_.view("n2").message = "no answer for 4s";
  fleet_.setState("n2", NodeState::kNotReady, "NoHeartbeat");

  auto shown = status("b");
  EXPECT_EQ(shown.state, WorkloadState::kUnknown);
  EXPECT_EQ(shown.reason, "NodeUnreachable");
  EXPECT_EQ(shown.message,
            "node \"n2\" is NotReady (NoHeartbeat: no answer for 4s); last known state Pending");
  EXPECT_EQ(stored("b")->status.state, WorkloadState::kPending);  // not stored

  ListFilter running;
  running.state = WorkloadState::kRunning;
  EXPECT_EQ(ids(service_->list(running, std::nullopt, "")), std::vector<std::string>{"a"});
  ListFilter unknown;
  unknown.state = WorkloadState::kUnknown;
  auto page = service_->list(unknown, std::nullopt, "");
  EXPECT_EQ(ids(page), std::vector<std::string>{"b"});
  EXPECT_EQ(page->items[0].status.reason, "NodeUnreachable");
  ListFilter on_n2;
  on_n2.node = "n2";
  EXPECT_EQ(ids(service_->list(on_n2, std::nullopt, "")), std::vector<std::string>{"b"});
  ListFilter kata;
  kata.runtime_class = "kata";
  EXPECT_EQ(ids(service_->list(kata, std::nullopt, "")), (std::vector<std::string>{"a", "b"}));
  kata.runtime_class = "gvisor";
  EXPECT_TRUE(ids(service_->list(kata, std::nullopt, "")).empty());
}

// --- restart ------------------------------------------------------------------

TEST_F(WorkloadServiceTest, LoadRestoresTheAllocationsAndTheQueue) {
  fleet_.addNode("n1", {"kata"}, {2048, 4000});
  auto a = accepted(spec("a", 512));
  auto b = accepted(spec("b", 256));
  auto c = accepted(spec("c", 4096));  // waits
  apply("n1", pushed(b, WorkloadState::kSucceeded, "Completed", 0));
  ASSERT_EQ(status("c").reason, "Unschedulable");

  restartService();
  fleet_.addNode("n1", {"kata"}, {2048, 4000});
  makeService();
  ASSERT_TRUE(service_->load(store_));
  EXPECT_EQ(fleet_.view("n1").allocated, (api::Resources{512, 250}));  // a only
  EXPECT_EQ(fleet_.view("n1").workloads, 1);
  EXPECT_EQ(status("a").uid, a.status.uid);
  EXPECT_EQ(status("b").state, WorkloadState::kSucceeded);
  EXPECT_EQ(ids(service_->list({}, std::nullopt, "")), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(fleet_.calls().empty());  // the node's resync delivers what it lacks
  resync("n1", {});
  EXPECT_EQ(fleet_.requests<StartWorkload>("n1").size(), 1u);
  EXPECT_EQ(fleet_.copies("n1").at("a").uid, a.status.uid);
  // The queue came back too.
  fleet_.addNode("n1", {"kata"}, {8192, 8000});
  nodeChanged("n1");
  EXPECT_EQ(status("c").node, "n1");
}

TEST_F(WorkloadServiceTest, LoadGivesAPlacementWithoutAUidOneAndTheResyncReplacesTheOldCopy) {
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  store::WorkloadRecord legacy;
  legacy.spec = spec("old");
  legacy.spec.runtime_class = "kata";
  legacy.spec.trust = api::TrustLevel::kUntrusted;
  legacy.status.id = "old";
  legacy.status.node = "n1";
  legacy.status.state = WorkloadState::kRunning;
  legacy.status.created_at = clock_.now();
  ASSERT_TRUE(store_.apply({store::PutWorkload{legacy}}));
  ASSERT_TRUE(service_->load(store_));
  const std::string uid = status("old").uid;
  EXPECT_TRUE(isHex32(uid)) << uid;
  EXPECT_EQ(stored("old")->status.uid, uid);

  fleet_.copies("n1")["old"] = {"", legacy.spec};
  auto item = legacy.status;
  resync("n1", {item});
  auto removes = fleet_.requests<RemoveWorkload>("n1");
  ASSERT_EQ(removes.size(), 1u);
  EXPECT_EQ(removes[0].uid, "");
  EXPECT_EQ(fleet_.copies("n1").at("old").uid, uid);
}

// --- regressions: deletes, resyncs, shutdown, watch, node re-adds -------------

TEST_F(WorkloadServiceTest, APushWhileADeleteCommitsDoesNotPutTheRecordBack) {
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  auto r = accepted(spec("web-1", 512));
  const auto running = pushed(r, WorkloadState::kRunning, "Started");
  fleet_.on_call = [&](const FakeFleet::Call& call) {
    if (!std::holds_alternative<RemoveWorkload>(call.request)) return;
    // The push is handled once the node has answered: while the delete commits.
    boost::asio::post(io_, [this, running] { service_->onStatus("n1", running); });
  };
  sink_.events.clear();
  ASSERT_TRUE(remove("web-1"));
  EXPECT_FALSE(stored("web-1"));
  EXPECT_EQ(service_->get("web-1").error().code, Code::kNotFound);
  ASSERT_FALSE(sink_.events.empty());
  EXPECT_EQ(sink_.names().back(), "DELETED web-1");
  EXPECT_EQ(fleet_.view("n1").allocated, (api::Resources{0, 0}));
}

TEST_F(WorkloadServiceTest, ANodeLostDuringItsResyncHasTheCopiesPlacedElsewhereMeanwhileFenced) {
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  fleet_.addNode("n2", {"kata"}, {4096, 4000});
  auto a = accepted(spec("a", 512, RestartPolicy::kAlways));
  ASSERT_EQ(a.status.node, "n1");
  fleet_.copies("n1")["ghost"] = {"g", a.spec};
  auto ghost = pushed(a, WorkloadState::kRunning, "Started");
  ghost.id = "ghost";
  ghost.uid = "g";
  bool lost = false;
  // The node is declared Lost while the resync's fences run: `a` is placed
  // again on n2 with a new uid.
  fleet_.on_call = [&](const FakeFleet::Call& call) {
    const auto* remove = std::get_if<RemoveWorkload>(&call.request);
    if (remove == nullptr || remove->id != "ghost" || lost) return;
    lost = true;
    fleet_.setState("n1", NodeState::kLost, "NoHeartbeat");
    service_->onNodeChanged(fleet_.view("n1"));
  };
  resync("n1", {pushed(a, WorkloadState::kRunning, "Started"), ghost});
  ASSERT_TRUE(lost);
  EXPECT_EQ(status("a").node, "n2");
  EXPECT_NE(status("a").uid, a.status.uid);
  // The old copy on n1 was fenced by its uid once the fences ended.
  EXPECT_TRUE(fleet_.copies("n1").empty());
  EXPECT_EQ(fleet_.copiesOf("a"), 1);
  bool fenced = false;
  for (const auto& r : fleet_.requests<RemoveWorkload>("n1")) {
    fenced = fenced || (r.id == "a" && r.uid == a.status.uid);
  }
  EXPECT_TRUE(fenced);
}

TEST_F(WorkloadServiceTest, AStatusWriteCompletingAfterTheServiceIsGoneTouchesNothing) {
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  auto r = accepted(spec("web-1"));
  sink_.events.clear();
  service_->onStatus("n1", pushed(r, WorkloadState::kRunning, "Started"));  // queued, not settled
  service_->stop();
  service_.reset();
  commits_->stop();  // applies the write; its completion is posted to io_
  io_.restart();
  io_.poll();
  EXPECT_TRUE(sink_.events.empty());
  EXPECT_EQ(stored("web-1")->status.state, WorkloadState::kRunning);
  makeService();  // for the fixture's teardown
}

TEST_F(WorkloadServiceTest, TheExecutorDoesNotRunOutWhileAStatusWriteIsQueued) {
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  store::WorkloadRecord legacy;
  legacy.spec = spec("old");
  legacy.spec.runtime_class = "kata";
  legacy.spec.trust = api::TrustLevel::kUntrusted;
  legacy.status.id = "old";
  legacy.status.node = "n1";
  legacy.status.state = WorkloadState::kRunning;
  legacy.status.created_at = clock_.now();
  ASSERT_TRUE(store_.apply({store::PutWorkload{legacy}}));
  // Holds the commit thread until the io_context runs, so the write that
  // load() queues (the new uid) is still queued when run() starts.
  std::promise<void> gate;
  std::shared_future<void> opened = gate.get_future().share();
  commits_->submit({}, [opened](Status) { opened.wait(); });
  boost::asio::io_context io;  // no work guard: run() returns when nothing is left
  WorkloadService service(io.get_executor(), fleet_, *commits_, admission_, clock_, &sink_,
                          defaultOptions());
  ASSERT_TRUE(service.load(store_));
  boost::asio::post(io, [&gate] { gate.set_value(); });
  io.run();
  EXPECT_TRUE(service.idle());
  service.stop();
  io.restart();
  io.run();
}

TEST_F(WorkloadServiceTest, ADeleteWhoseReplyIsLostIsFinishedByTheResyncNotRedelivered) {
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  auto r = accepted(spec("web-1", 512));
  apply("n1", pushed(r, WorkloadState::kRunning, "Started"));
  // The node removes the copy, but its answer is lost.
  fleet_.failRemoves("n1", Error{Code::kDeadlineExceeded, "no answer in time", ""});
  fleet_.on_call = [&](const FakeFleet::Call& call) {
    if (std::holds_alternative<RemoveWorkload>(call.request)) fleet_.copies("n1").erase("web-1");
  };
  auto refused = remove("web-1");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Code::kUnavailable);
  // Meanwhile the record says it is being deleted, durably.
  EXPECT_EQ(status("web-1").state, WorkloadState::kRunning);
  EXPECT_EQ(status("web-1").reason, "Terminating");
  ASSERT_TRUE(stored("web-1"));
  EXPECT_EQ(stored("web-1")->status.reason, "Terminating");
  EXPECT_EQ(sink_.events.back().record.status.reason, "Terminating");
  // A push of the copy does not undo the mark.
  apply("n1", pushed(r, WorkloadState::kRunning, "Started"));
  EXPECT_EQ(status("web-1").reason, "Terminating");

  fleet_.failRemoves("n1", std::nullopt);
  fleet_.on_call = nullptr;
  fleet_.clearCalls();
  resync("n1", {});
  EXPECT_EQ(fleet_.count("StartWorkload"), 0);
  auto removes = fleet_.requests<RemoveWorkload>("n1");
  ASSERT_EQ(removes.size(), 1u);
  EXPECT_EQ(removes[0].uid, r.status.uid);
  EXPECT_EQ(service_->get("web-1").error().code, Code::kNotFound);
  EXPECT_FALSE(stored("web-1"));
  EXPECT_EQ(fleet_.view("n1").allocated, (api::Resources{0, 0}));
  EXPECT_EQ(sink_.names().back(), "DELETED web-1");
}

TEST_F(WorkloadServiceTest, ADeleteThatCouldNotCommitIsFinishedByTickOrAfterARestart) {
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  auto a = accepted(spec("a", 512));
  auto b = accepted(spec("b", 512));
  // The delete itself fails to commit (as a crash right there would).
  fleet_.on_call = [&](const FakeFleet::Call& call) {
    if (std::holds_alternative<RemoveWorkload>(call.request)) store_.failNextApplies(1);
  };
  EXPECT_EQ(remove("a").error().code, Code::kUnavailable);
  EXPECT_EQ(remove("b").error().code, Code::kUnavailable);
  fleet_.on_call = nullptr;
  EXPECT_FALSE(fleet_.copies("n1").contains("a"));
  EXPECT_EQ(status("a").reason, "Terminating");

  // While the server runs, tick() finishes it.
  fleet_.clearCalls();
  clock_.advance(1h);
  tick();
  EXPECT_EQ(service_->get("a").error().code, Code::kNotFound);
  EXPECT_EQ(service_->get("b").error().code, Code::kNotFound);
  EXPECT_FALSE(stored("a"));
  EXPECT_EQ(fleet_.count("StartWorkload"), 0);
  EXPECT_EQ(fleet_.view("n1").allocated, (api::Resources{0, 0}));

  // After a restart, the node's resync finishes it.
  auto c = accepted(spec("c", 512));
  fleet_.on_call = [&](const FakeFleet::Call& call) {
    if (std::holds_alternative<RemoveWorkload>(call.request)) store_.failNextApplies(1);
  };
  EXPECT_EQ(remove("c").error().code, Code::kUnavailable);
  restartService();
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  makeService();
  ASSERT_TRUE(service_->load(store_));
  EXPECT_EQ(status("c").reason, "Terminating");
  EXPECT_EQ(fleet_.view("n1").allocated.memory_mb, 512);  // its copy may still run
  resync("n1", {});
  EXPECT_EQ(fleet_.count("StartWorkload"), 0);
  EXPECT_EQ(fleet_.requests<RemoveWorkload>("n1").size(), 1u);
  EXPECT_EQ(service_->get("c").error().code, Code::kNotFound);
  EXPECT_FALSE(stored("c"));
  EXPECT_EQ(fleet_.view("n1").allocated, (api::Resources{0, 0}));
}

TEST_F(WorkloadServiceTest, ADrainMarksTheRecordBeforeItRemovesTheCopy) {
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  fleet_.addNode("n2", {"kata"}, {4096, 4000});
  auto a = accepted(spec("a", 512, RestartPolicy::kAlways));
  ASSERT_EQ(a.status.node, "n1");
  apply("n1", pushed(a, WorkloadState::kRunning, "Started"));
  fleet_.view("n1").schedulable = false;
  // The commit after the node's removal fails (as a crash right there would).
  fleet_.on_call = [&](const FakeFleet::Call& call) {
    if (std::holds_alternative<RemoveWorkload>(call.request)) store_.failNextApplies(1);
  };
  EXPECT_FALSE(run(service_->drain("n1")));
  fleet_.on_call = nullptr;
  EXPECT_FALSE(fleet_.copies("n1").contains("a"));
  ASSERT_TRUE(stored("a"));
  EXPECT_EQ(stored("a")->status.node, "n1");
  EXPECT_EQ(stored("a")->status.reason, "Draining");

  restartService();
  fleet_.addNode("n1", {"kata"}, {4096, 4000}).schedulable = false;
  fleet_.addNode("n2", {"kata"}, {4096, 4000});
  makeService();
  ASSERT_TRUE(service_->load(store_));
  resync("n1", {});
  EXPECT_EQ(fleet_.count("StartWorkload", "n1"), 0);  // not delivered again to the drained node
  EXPECT_EQ(status("a").node, "n2");
  EXPECT_NE(status("a").uid, a.status.uid);
  EXPECT_EQ(fleet_.copies("n2").at("a").uid, status("a").uid);
  EXPECT_EQ(stored("a")->status.node, "n2");
  EXPECT_EQ(fleet_.view("n1").allocated, (api::Resources{0, 0}));
}

TEST_F(WorkloadServiceTest, WatchEventsShowWhatGetShowsAndFollowTheNodesReadiness) {
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  auto r = accepted(spec("web-1"));
  sink_.events.clear();
  // A status write completes after the node stopped answering.
  service_->onStatus("n1", pushed(r, WorkloadState::kRunning, "Started"));
  fleet_.setState("n1", NodeState::kNotReady, "NoHeartbeat");
  service_->onNodeChanged(fleet_.view("n1"));
  settle();
  ASSERT_FALSE(sink_.events.empty());
  for (const auto& event : sink_.events) {
    EXPECT_EQ(event.type, WatchEventType::kModified);
    EXPECT_EQ(event.record.status.state, WorkloadState::kUnknown);
    EXPECT_EQ(event.record.status.reason, "NodeUnreachable");
    EXPECT_EQ(event.record.status, status("web-1"));
  }
  sink_.events.clear();
  fleet_.setState("n1", NodeState::kReady);
  nodeChanged("n1");
  ASSERT_EQ(sink_.names(), std::vector<std::string>{"MODIFIED web-1"});
  EXPECT_EQ(sink_.events[0].record.status.state, WorkloadState::kRunning);
  // A change that is not one of readiness publishes nothing.
  sink_.events.clear();
  fleet_.view("n1").schedulable = false;
  nodeChanged("n1");
  EXPECT_TRUE(sink_.events.empty());
}

TEST_F(WorkloadServiceTest, ANodeRemovedAndAddedAgainWhileItsWorkloadsAreBusyCountsThem) {
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  accepted(spec("a", 512, RestartPolicy::kAlways));
  bool readded = false;
  // While b's delivery holds its lock, the node is removed (force) and added again.
  fleet_.on_call = [&](const FakeFleet::Call& call) {
    const auto* start = std::get_if<StartWorkload>(&call.request);
    if (start == nullptr || start->workload.id != "b" || readded) return;
    readded = true;
    fleet_.removeNode("n1");
    service_->onNodeRemoved("n1");
    fleet_.addNode("n1", {"kata"}, {4096, 4000});
    service_->onNodeChanged(fleet_.view("n1"));
  };
  accepted(spec("b", 256, RestartPolicy::kAlways));
  ASSERT_TRUE(readded);
  tick();
  std::int64_t placed = 0;
  int count = 0;
  const auto page = service_->list({}, std::nullopt, "");
  ASSERT_TRUE(page);
  for (const auto& rec : page->items) {
    if (rec.status.node == "n1" && !api::isTerminal(rec.status.state)) {
      placed += rec.spec.memory_mb;
      ++count;
    }
  }
  EXPECT_EQ(count, 2);
  EXPECT_EQ(fleet_.view("n1").allocated.memory_mb, placed);
  EXPECT_EQ(fleet_.view("n1").workloads, count);
  ASSERT_TRUE(remove("a"));
  ASSERT_TRUE(remove("b"));
  EXPECT_EQ(fleet_.view("n1").allocated, (api::Resources{0, 0}));
  EXPECT_EQ(fleet_.view("n1").workloads, 0);
}

}  // namespace
}  // namespace zp::server::testing
