// WorkloadService: submission, placement, the Unschedulable queue and
// delivery (docs/architecture.md §8.3, §8.4, §8.7).

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
  EXPECT_EQ(r.status.message,
            "scheduled to node \"n2\" (class kata: application-kernel, score 70)");
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

TEST_F(WorkloadServiceTest, PacedDeliveriesAllArrive) {
  makePacedService(1ms);  // two permits at once, then one per millisecond, whatever the lag
  fleet_.addNode("n1", {"kata"}, {65'536, 64'000});
  const int submitted = run(submitNumbered(30));
  EXPECT_EQ(submitted, 30);
  settle();
  EXPECT_EQ(fleet_.requests<StartWorkload>("n1").size(), 30u);
  for (int i = 0; i < 30; ++i) {
    EXPECT_EQ(status("wl-" + std::to_string(i)).reason, "ContainerCreating") << i;
  }
}

TEST_F(WorkloadServiceTest, PacedDeliveriesWaitForPermitsAndStopEndsTheWait) {
  // A burst of two permits (2 ms at 1,000/s); no probe hands out more during the test.
  makePacedService(1h);
  fleet_.addNode("n1", {"kata"}, {65'536, 64'000});
  auto submitted = boost::asio::co_spawn(io_, submitNumbered(5), boost::asio::use_future);
  // Not settle(): the workers waiting for permits keep the service busy.
  for (int i = 0; i < 600 && submitted.wait_for(0s) != std::future_status::ready; ++i) {
    io_.restart();
    io_.run_one_for(100ms);
  }
  ASSERT_EQ(submitted.wait_for(0s), std::future_status::ready);
  EXPECT_EQ(submitted.get(), 5);
  for (int i = 0; i < 10; ++i) {
    io_.restart();
    io_.run_one_for(10ms);
  }
  EXPECT_EQ(fleet_.requests<StartWorkload>("n1").size(), 2u);
  EXPECT_FALSE(service_->idle());

  service_->stop();  // the three waiting give up; the next start's resync delivers them
  settle();
  EXPECT_TRUE(service_->idle());
  EXPECT_EQ(fleet_.requests<StartWorkload>("n1").size(), 2u);
  int delivered = 0;
  for (int i = 0; i < 5; ++i) {
    if (status("wl-" + std::to_string(i)).reason == "ContainerCreating") ++delivered;
  }
  EXPECT_EQ(delivered, 2);
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

}  // namespace
}  // namespace zp::server::testing
