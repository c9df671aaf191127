// WorkloadService: removal, lists, load after a restart, and the durability
// of deletes and drains against late pushes, lost replies and failed commits
// (docs/architecture.md §7, §8.4, §8.8).

#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
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

// The node answers but its runtime cannot remove the copy yet (containerd:
// "container is in starting state, can't be removed"): the deletion is
// finished later, as for an unreachable node, so the answer is the same 503.
TEST_F(WorkloadServiceTest, RemoveThatTheNodeCannotDoYetIsUnavailableAndFinishedLater) {
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  accepted(spec("web-1", 512));
  fleet_.failRemoves("n1", Error{Code::kInternal, "container is in starting state", ""});
  auto refused = remove("web-1");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Code::kUnavailable);
  EXPECT_NE(refused.error().message.find("could not remove workload \"web-1\" yet"),
            std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().message.find("Internal: container is in starting state"),
            std::string::npos)
      << refused.error().message;
  EXPECT_EQ(status("web-1").reason, "Terminating");
  EXPECT_EQ(stored("web-1")->status.reason, "Terminating");
  fleet_.failRemoves("n1", std::nullopt);
  clock_.advance(std::chrono::minutes(1));
  tick();
  EXPECT_FALSE(service_->get("web-1"));
  EXPECT_FALSE(stored("web-1"));
  EXPECT_EQ(fleet_.copiesOf("web-1"), 0);
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

  const int copies = fleet_.viewsCopied();
  auto shown = status("b");
  EXPECT_EQ(fleet_.viewsCopied(), copies);  // the node's status only, not its whole view
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
