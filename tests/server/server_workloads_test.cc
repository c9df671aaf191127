// The assembled Server, workloads side: submission to delivery and pushed
// status, the Unschedulable queue, restarts on the same database, watch,
// logs and pagination over HTTP (docs/architecture.md §7, §8.3–§8.5).

#include <set>
#include <thread>

#include "server_fixture.h"

namespace zp::server::testing {
namespace {

using api::WorkloadState;
using nlohmann::json;

std::vector<std::string> ids(const json& page) {
  std::vector<std::string> out;
  for (const auto& item : page["items"]) out.push_back(item["spec"]["id"].get<std::string>());
  return out;
}

TEST_F(ServerFixture, SubmitDeliversTheRecordsUidAndPushesAreServedWithoutAskingTheNode) {
  auto res = create(spec("web-1"));
  EXPECT_EQ(res.header("location"), "/workloads/web-1");
  EXPECT_EQ(res.json["status"]["state"], "Pending");
  EXPECT_EQ(res.json["status"]["reason"], "Scheduled");
  ASSERT_EQ(res.json["status"]["node"], "node-2");  // binpack: the fuller node
  const std::string uid = res.json["status"]["uid"];
  ASSERT_FALSE(uid.empty());

  ASSERT_TRUE(eventually([&] { return node2_->workload("web-1").has_value(); }));
  EXPECT_EQ(node2_->starts(), (std::vector<FakeAgent::Copy>{{"web-1", uid}}));
  EXPECT_EQ(agentUid(*node2_, "web-1"), uid);
  EXPECT_EQ(node1_->count("StartWorkload"), 0);

  node2_->setState("web-1", WorkloadState::kRunning, "Started");
  auto running = waitState("web-1", "Running");
  EXPECT_EQ(running["status"]["reason"], "Started");
  EXPECT_EQ(running["status"]["node"], "node-2");
  EXPECT_EQ(running["status"]["uid"], uid);

  node2_->setState("web-1", WorkloadState::kSucceeded, "Completed", 0);
  auto done = waitState("web-1", "Succeeded");
  EXPECT_EQ(done["status"]["exit_code"], 0);

  // Reads come from the control plane's records: the node is not asked.
  node2_->resetCounts();
  EXPECT_EQ(server_->get("/workloads/web-1").json["status"]["state"], "Succeeded");
  auto list = server_->get("/workloads");
  ASSERT_EQ(list.json["items"].size(), 1u);
  EXPECT_EQ(list.json["items"][0]["status"]["state"], "Succeeded");
  EXPECT_EQ(server_->get("/workloads?state=Succeeded").json["items"].size(), 1u);
  EXPECT_EQ(node2_->count("GetStatus"), 0);
  EXPECT_EQ(node2_->count("ListWorkloads"), 0);
  EXPECT_EQ(node2_->count("StartWorkload"), 0);
}

TEST_F(ServerFixture, FullFleetAcceptsUnschedulableAndPlacesWhenCapacityIsReleased) {
  auto big = create(spec("big-1", "native", 4000));
  ASSERT_EQ(big.json["status"]["node"], "node-1");  // node-2 has 1024 MB
  auto mid = create(spec("mid-1", "native", 1000));
  ASSERT_EQ(mid.json["status"]["node"], "node-2");
  EXPECT_EQ(server_->get("/nodes/node-1").json["allocated"]["memory_mb"], 4000);

  auto waiting = create(spec("wait-1", "native", 512));
  EXPECT_EQ(waiting.json["status"]["state"], "Pending");
  EXPECT_EQ(waiting.json["status"]["reason"], "Unschedulable");
  EXPECT_EQ(waiting.json["status"]["message"], "0/2 nodes available: 2 insufficient memory");
  EXPECT_EQ(waiting.json["status"]["node"], "");
  EXPECT_EQ(server_->get("/workloads/wait-1").json["status"]["reason"], "Unschedulable");

  // A final status releases mid-1's memory on node-2.
  ASSERT_TRUE(eventually([&] { return node2_->workload("mid-1").has_value(); }));
  node2_->setState("mid-1", WorkloadState::kSucceeded, "Completed", 0);
  auto placed = waitWorkload("wait-1", [](const json& j) { return placedOn(j, "node-2"); });
  const std::string uid = placed["status"]["uid"];
  EXPECT_FALSE(uid.empty());
  EXPECT_TRUE(eventually([&] { return agentUid(*node2_, "wait-1") == uid; }));

  // Too big for what is left anywhere; a DELETE frees node-1.
  auto second = create(spec("wait-2", "native", 600));
  EXPECT_EQ(second.json["status"]["reason"], "Unschedulable");
  EXPECT_EQ(second.json["status"]["message"], "0/2 nodes available: 2 insufficient memory");
  ASSERT_TRUE(eventually([&] { return node1_->workload("big-1").has_value(); }));
  const std::string big_uid = big.json["status"]["uid"];
  auto removed = server_->del("/workloads/big-1");
  EXPECT_EQ(removed.status, 200u) << removed.body;
  EXPECT_EQ(node1_->removals(), (std::vector<FakeAgent::Copy>{{"big-1", big_uid}}));
  EXPECT_FALSE(node1_->workload("big-1"));
  auto moved = waitWorkload("wait-2", [](const json& j) { return placedOn(j, "node-1"); });
  const std::string uid2 = moved["status"]["uid"];
  EXPECT_TRUE(eventually([&] { return agentUid(*node1_, "wait-2") == uid2; }));
  EXPECT_EQ(server_->get("/workloads/big-1").status, 404u);
}

TEST_F(ServerFixture, ARefusedDeliveryFailsTheWorkloadAndATransientOneIsRetried) {
  node2_->failStarts(Error{Code::kInvalidArgument, "image not allowed here", "workload.image"});
  create(spec("bad-1"));
  auto refused = waitState("bad-1", "Failed");
  EXPECT_EQ(refused["status"]["reason"], "DeliveryFailed");
  EXPECT_NE(refused["status"]["message"].get<std::string>().find("image not allowed here"),
            std::string::npos)
      << refused.dump();

  node2_->failStarts(Error{Code::kUnavailable, "the runtime is restarting", ""});
  const int before = node2_->count("StartWorkload");
  create(spec("web-1"));
  auto waiting = waitWorkload("web-1", [](const json& j) {
    return j["status"]["message"].get<std::string>().find("not yet delivered") != std::string::npos;
  });
  EXPECT_EQ(waiting["status"]["state"], "Pending");
  EXPECT_EQ(waiting["status"]["reason"], "Scheduled");
  EXPECT_EQ(node2_->count("StartWorkload"), before + 1);
  node2_->failStarts(std::nullopt);
  // The retry waits for its backoff on the server's clock.
  fake_clock_.advance(BackoffOptions{}.initial);
  EXPECT_TRUE(eventually([&] { return node2_->workload("web-1").has_value(); }));
  EXPECT_EQ(agentUid(*node2_, "web-1"), waiting["status"]["uid"]);
}

TEST_F(ServerFixture, RestartKeepsWorkloadsAndPlacementsAndRedeliversOnlyWhatTheNodeLost) {
  // Created a microsecond apart: the order outlives the restart exactly.
  auto web = create(spec("web-1"));
  const std::string uid = web.json["status"]["uid"];
  fake_clock_.advance(std::chrono::microseconds(1));
  auto job = create(spec("job-1"));
  fake_clock_.advance(std::chrono::microseconds(1));
  auto waiting = create(spec("huge-1", "native", 8000));  // fits no node
  ASSERT_EQ(waiting.json["status"]["reason"], "Unschedulable");
  ASSERT_TRUE(eventually([&] { return node2_->workload("web-1") && node2_->workload("job-1"); }));
  node2_->setState("web-1", WorkloadState::kRunning, "Started");
  node2_->setState("job-1", WorkloadState::kFailed, "Error", 3);
  waitState("web-1", "Running");
  waitState("job-1", "Failed");
  ASSERT_TRUE(eventually(
      [&] { return server_->onServer([](Server& s) { return s.workloads().idle(); }); }));

  stopServer();
  node1_->resetCounts();
  node2_->resetCounts();
  startServer();
  auto after = server_->get("/workloads/web-1").json;
  EXPECT_EQ(after["status"]["state"], "Running");
  EXPECT_EQ(after["status"]["node"], "node-2");
  EXPECT_EQ(after["status"]["uid"], uid);
  auto failed = server_->get("/workloads/job-1").json;
  EXPECT_EQ(failed["status"]["state"], "Failed");
  EXPECT_EQ(failed["status"]["exit_code"], 3);
  EXPECT_EQ(server_->get("/workloads/huge-1").json["status"]["reason"], "Unschedulable");
  EXPECT_EQ(ids(server_->get("/workloads").json),
            (std::vector<std::string>{"web-1", "job-1", "huge-1"}));
  EXPECT_EQ(server_->get("/nodes/node-2").json["workloads"], 1);  // web-1; job-1 is final
  // The resync found every copy with its uid: nothing is sent again.
  ASSERT_TRUE(eventually(
      [&] { return server_->onServer([](Server& s) { return s.workloads().idle(); }); }));
  EXPECT_EQ(node2_->count("StartWorkload"), 0);
  EXPECT_EQ(node2_->count("RemoveWorkload"), 0);
  EXPECT_EQ(server_->post("/workloads", spec("web-1")).status, 409u);

  // A copy the node lost while the server was down is delivered again, with its uid.
  stopServer();
  node2_->forget("web-1");
  startServer();
  EXPECT_TRUE(eventually([&] { return agentUid(*node2_, "web-1") == uid; }));
  EXPECT_EQ(node2_->starts().back(), (FakeAgent::Copy{"web-1", uid}));
}

TEST_F(ServerFixture, AQueuedWorkloadIsPlacedAfterARestartWhenItFits) {
  auto big = create(spec("big-1", "native", 4000));
  ASSERT_EQ(big.json["status"]["node"], "node-1");
  const std::string big_uid = big.json["status"]["uid"];
  auto waiting = create(spec("wait-1", "native", 3000));
  ASSERT_EQ(waiting.json["status"]["reason"], "Unschedulable");
  ASSERT_TRUE(eventually([&] { return node1_->workload("big-1").has_value(); }));

  // While the server is down, big-1's record goes away.
  stopServer();
  {
    auto opened = store::SqliteStore::open((std::filesystem::path(dir_) / "zoneplane.db").string());
    ASSERT_TRUE(opened) << opened.error().toString();
    ASSERT_TRUE((*opened)->apply({store::DeleteWorkload{"big-1"}}));
  }
  startServer();
  auto placed = waitWorkload("wait-1", [](const json& j) { return placedOn(j, "node-1"); });
  const std::string uid = placed["status"]["uid"];
  EXPECT_TRUE(eventually([&] { return agentUid(*node1_, "wait-1") == uid; }));
  // The copy no record places there is fenced.
  EXPECT_TRUE(eventually([&] { return !node1_->workload("big-1"); }));
  EXPECT_EQ(node1_->removals(), (std::vector<FakeAgent::Copy>{{"big-1", big_uid}}));
}

// Reads watch events from `watch` until one satisfies `done`; every line
// before it must satisfy `allowed`. Returns the event (null when the stream
// ended first).
json nextEvent(StreamingRequest& watch, const std::function<bool(const json&)>& done,
               const std::function<bool(const json&)>& allowed) {
  while (auto line = watch.readLine()) {
    auto event = json::parse(*line, nullptr, false);
    EXPECT_TRUE(event.is_object()) << *line;
    if (done(event)) return event;
    EXPECT_TRUE(allowed(event)) << "unexpected event: " << *line;
  }
  ADD_FAILURE() << "the watch ended";
  return json();
}

std::function<bool(const json&)> is(const std::string& type, const std::string& id,
                                    const std::string& state = "") {
  return [=](const json& e) {
    return e["type"] == type && e["workload"]["spec"]["id"] == id &&
           (state.empty() || e["workload"]["status"]["state"] == state);
  };
}

TEST_F(ServerFixture, WatchStreamsTheCurrentStateThenChangesAsNdjson) {
  create(spec("w-1"));
  ASSERT_TRUE(eventually([&] { return node2_->workload("w-1").has_value(); }));

  auto watch_stream = server_->stream("/workloads?watch=true");
  StreamingRequest& watch = *watch_stream;
  EXPECT_EQ(watch.status(), 200u);
  EXPECT_EQ(watch.header("Content-Type"), "application/x-ndjson");
  EXPECT_EQ(watch.header("Transfer-Encoding"), "chunked");
  auto first = json::parse(watch.readLine().value_or(""), nullptr, false);
  EXPECT_EQ(first["type"], "ADDED");
  EXPECT_EQ(first["workload"]["spec"]["id"], "w-1");

  node2_->setState("w-1", WorkloadState::kRunning, "Started");
  auto running = nextEvent(watch, is("MODIFIED", "w-1", "Running"), is("MODIFIED", "w-1"));
  EXPECT_EQ(running["workload"]["status"]["node"], "node-2");

  create(spec("w-2"));
  auto added = nextEvent(watch, is("ADDED", "w-2"), is("MODIFIED", "w-1"));
  EXPECT_EQ(added["workload"]["status"]["reason"], "Scheduled");

  ASSERT_EQ(server_->del("/workloads/w-1").status, 200u);
  auto deleted =
      nextEvent(watch, is("DELETED", "w-1"), [](const json& e) { return e["type"] == "MODIFIED"; });
  EXPECT_EQ(deleted["workload"]["status"]["state"], "Running");
  watch.close();
}

// A watch writes its snapshot before it first waits; with a short write
// deadline the stream still stays open well past several of them.
class ShortWriteDeadlineFixture : public ServerFixture {
 protected:
  void configure() override { options_.http.write_timeout = std::chrono::milliseconds(200); }
};

TEST_F(ShortWriteDeadlineFixture, AWatchOutlivesManyWriteDeadlines) {
  create(spec("w-0"));
  auto watch_stream = server_->stream("/workloads?watch=true");
  StreamingRequest& watch = *watch_stream;
  ASSERT_EQ(watch.status(), 200u);
  EXPECT_TRUE(is("ADDED", "w-0")(json::parse(watch.readLine().value_or(""), nullptr, false)));
  for (int i = 1; i <= 3; ++i) {
    std::this_thread::sleep_for(3 * options_.http.write_timeout);  // three deadlines, idle
    const std::string id = "w-" + std::to_string(i);
    create(spec(id));
    nextEvent(watch, is("ADDED", id), [](const json& e) { return e["type"] == "MODIFIED"; });
  }
  watch.close();
}

TEST_F(ServerFixture, WatchFiltersByIdAndState) {
  create(spec("w-1"));
  create(spec("w-2"));
  ASSERT_TRUE(eventually([&] { return node2_->workload("w-1") && node2_->workload("w-2"); }));

  auto one_stream = server_->stream("/workloads?watch=true&id=w-2");
  StreamingRequest& one = *one_stream;
  ASSERT_EQ(one.status(), 200u) << one.readRest();
  auto running_stream = server_->stream("/workloads?watch=true&state=Running");
  StreamingRequest& running = *running_stream;
  ASSERT_EQ(running.status(), 200u) << running.readRest();
  EXPECT_TRUE(is("ADDED", "w-2")(json::parse(one.readLine().value_or(""), nullptr, false)));

  node2_->setState("w-1", WorkloadState::kRunning, "Started");
  node2_->setState("w-2", WorkloadState::kRunning, "Started");
  const auto onlyW2 = [](const json& e) { return e["workload"]["spec"]["id"] == "w-2"; };
  nextEvent(one, is("MODIFIED", "w-2", "Running"), onlyW2);
  // Starting to match is ADDED; stopping to match is DELETED.
  std::set<std::string> started;
  while (started.size() < 2) {
    auto e = json::parse(running.readLine().value_or(""), nullptr, false);
    ASSERT_EQ(e["type"], "ADDED") << e.dump();
    EXPECT_EQ(e["workload"]["status"]["state"], "Running");
    started.insert(e["workload"]["spec"]["id"].get<std::string>());
  }
  node2_->setState("w-1", WorkloadState::kSucceeded, "Completed", 0);
  auto left = json::parse(running.readLine().value_or(""), nullptr, false);
  EXPECT_TRUE(is("DELETED", "w-1", "Succeeded")(left)) << left.dump();

  ASSERT_EQ(server_->del("/workloads/w-2").status, 200u);
  nextEvent(one, is("DELETED", "w-2"), onlyW2);  // w-1's changes never came
  // The deletion is recorded first (reason Terminating), then the record goes.
  auto terminating = json::parse(running.readLine().value_or(""), nullptr, false);
  EXPECT_TRUE(is("MODIFIED", "w-2", "Running")(terminating)) << terminating.dump();
  EXPECT_EQ(terminating["workload"]["status"]["reason"], "Terminating");
  auto gone = json::parse(running.readLine().value_or(""), nullptr, false);
  EXPECT_TRUE(is("DELETED", "w-2", "Running")(gone)) << gone.dump();
}

TEST_F(ServerFixture, WatchRejectsUnknownParameters) {
  auto res = server_->get("/workloads?watch=true&limit=2");
  EXPECT_EQ(res.status, 400u);
  EXPECT_EQ(res.json["error"]["field"], "limit");
  EXPECT_EQ(server_->get("/workloads?watch=true&state=Sleeping").status, 422u);
  EXPECT_EQ(server_->get("/workloads?watch=true&id=").status, 422u);
  // id filters watches only.
  auto list = server_->get("/workloads?id=w-1");
  EXPECT_EQ(list.status, 400u);
  EXPECT_EQ(list.json["error"]["field"], "id");
}

TEST_F(ServerFixture, LogsComeFromTheNodeThatRunsTheWorkload) {
  create(spec("w-1"));
  ASSERT_TRUE(eventually([&] { return node2_->workload("w-1").has_value(); }));
  node2_->setLog("w-1", {{"2026-01-02T03:04:05.000000001Z", "stdout", "hello", false},
                         {"2026-01-02T03:04:05.000000002Z", "stderr", "oops", false},
                         {"2026-01-02T03:04:05.000000003Z", "stdout", "bye", false}});

  auto all = server_->get("/workloads/w-1/logs");
  EXPECT_EQ(all.status, 200u);
  EXPECT_EQ(all.header("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(all.body, "hello\noops\nbye\n");
  EXPECT_EQ(server_->get("/workloads/w-1/logs?tail=1").body, "bye\n");
  EXPECT_EQ(server_->get("/workloads/w-1/logs?stream=stderr").body, "oops\n");
  EXPECT_EQ(server_->get("/workloads/w-1/logs?timestamps=true&tail=2").body,
            "2026-01-02T03:04:05.000000002Z oops\n2026-01-02T03:04:05.000000003Z bye\n");

  auto follow_stream = server_->stream("/workloads/w-1/logs?follow=true");
  StreamingRequest& follow = *follow_stream;
  ASSERT_EQ(follow.status(), 200u);
  EXPECT_EQ(follow.readLine(), "hello");
  EXPECT_EQ(follow.readLine(), "oops");
  EXPECT_EQ(follow.readLine(), "bye");
  node2_->appendLog("w-1", {"2026-01-02T03:04:06.000000000Z", "stdout", "more", false});
  EXPECT_EQ(follow.readLine(), "more");
  // The node ends the log once the workload is final (its status pushed).
  node2_->setState("w-1", api::WorkloadState::kSucceeded, "Completed");
  node2_->endLogs("w-1");
  EXPECT_EQ(follow.readLine(), std::nullopt);
  EXPECT_TRUE(follow.complete());

  // A client that leaves a follow frees the node's log connection.
  EXPECT_TRUE(eventually([&] { return node2_->connections() == 1; }));
  auto leaving_stream = server_->stream("/workloads/w-1/logs?follow=true");
  StreamingRequest& leaving = *leaving_stream;
  ASSERT_EQ(leaving.status(), 200u);
  EXPECT_EQ(leaving.readLine(), "hello");
  EXPECT_EQ(node2_->connections(), 2);
  leaving.close();
  EXPECT_TRUE(eventually([&] { return node2_->connections() == 1; }));
  // HEAD: the headers, and the node's stream is not held either.
  auto head_stream =
      server_->stream("/workloads/w-1/logs?follow=true", boost::beast::http::verb::head);
  StreamingRequest& head = *head_stream;
  EXPECT_EQ(head.status(), 200u);
  EXPECT_EQ(head.header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(head.readLine(), std::nullopt);
  EXPECT_TRUE(eventually([&] { return node2_->connections() == 1; }));

  EXPECT_EQ(server_->get("/workloads/nope/logs").status, 404u);
  auto unplaced = create(spec("huge-1", "native", 8000));
  ASSERT_EQ(unplaced.json["status"]["reason"], "Unschedulable");
  auto conflict = server_->get("/workloads/huge-1/logs");
  EXPECT_EQ(conflict.status, 409u);
  EXPECT_EQ(conflict.json["error"]["code"], "FailedPrecondition");
  EXPECT_EQ(server_->get("/workloads/w-1/logs?tail=-1").status / 100, 4u);
}

TEST_F(ServerFixture, StoppingTheServerEndsOpenWatchesAndLogFollows) {
  create(spec("w-1"));
  ASSERT_TRUE(eventually([&] { return node2_->workload("w-1").has_value(); }));
  node2_->setLog("w-1", {{"2026-01-02T03:04:05.000000001Z", "stdout", "hello", false}});
  auto watch_stream = server_->stream("/workloads?watch=true");
  StreamingRequest& watch = *watch_stream;
  ASSERT_EQ(watch.status(), 200u);
  EXPECT_TRUE(is("ADDED", "w-1")(json::parse(watch.readLine().value_or(""), nullptr, false)));
  auto follow_stream = server_->stream("/workloads/w-1/logs?follow=true");
  StreamingRequest& follow = *follow_stream;
  ASSERT_EQ(follow.status(), 200u);
  EXPECT_EQ(follow.readLine(), "hello");

  stopServer();                           // returns once every coroutine has ended
  while (auto line = watch.readLine()) {  // a change written before the stop, then the end
    EXPECT_TRUE(is("MODIFIED", "w-1")(json::parse(*line, nullptr, false))) << *line;
  }
  EXPECT_EQ(follow.readLine(), std::nullopt);
  EXPECT_TRUE(eventually([&] { return node2_->connections() == 0; }));
}

TEST_F(ServerFixture, ListPagesInCreationOrderAndStaysStableUnderRemovals) {
  for (const char* id : {"c-1", "a-1", "d-1", "b-1", "e-1"}) {
    create(spec(id));
    fake_clock_.advance(std::chrono::milliseconds(1));
  }
  auto first = server_->get("/workloads?limit=2");
  ASSERT_EQ(first.status, 200u) << first.body;
  EXPECT_EQ(ids(first.json), (std::vector<std::string>{"c-1", "a-1"}));
  ASSERT_TRUE(first.json.contains("continue"));
  // The position survives the removal of the item it names.
  ASSERT_EQ(server_->del("/workloads/a-1").status, 200u);
  auto second =
      server_->get("/workloads?limit=2&continue=" + first.json["continue"].get<std::string>());
  ASSERT_EQ(second.status, 200u) << second.body;
  EXPECT_EQ(ids(second.json), (std::vector<std::string>{"d-1", "b-1"}));
  auto last =
      server_->get("/workloads?limit=2&continue=" + second.json["continue"].get<std::string>());
  EXPECT_EQ(ids(last.json), (std::vector<std::string>{"e-1"}));
  EXPECT_FALSE(last.json.contains("continue"));
  // Exactly a page: no continue either.
  EXPECT_FALSE(server_->get("/workloads?limit=4").json.contains("continue"));
  EXPECT_EQ(ids(server_->get("/workloads?node=node-2&limit=1").json),
            (std::vector<std::string>{"c-1"}));

  for (const char* bad : {"0", "1001", "x", "-1", ""}) {
    auto res = server_->get(std::string("/workloads?limit=") + bad);
    EXPECT_EQ(res.status, 422u) << bad;
    EXPECT_EQ(res.json["error"]["field"], "limit") << bad;
  }
  auto garbage = server_->get("/workloads?continue=garbage");
  EXPECT_EQ(garbage.status, 422u);
  EXPECT_EQ(garbage.json["error"]["field"], "continue");
}

TEST_F(ServerFixture, HeadAnswersEveryGetRouteWithoutABody) {
  create(spec("w-1"));
  waitWorkload("w-1", [](const json& j) { return j["status"]["reason"] == "ContainerCreating"; });
  for (const char* target : {"/workloads", "/workloads/w-1", "/workloads?state=Pending", "/nodes",
                             "/nodes/node-1", "/trust-levels", "/healthz"}) {
    auto get = server_->get(target);
    auto head = server_->head(target);
    EXPECT_EQ(get.status, 200u) << target;
    EXPECT_EQ(head.status, 200u) << target;
    EXPECT_EQ(head.body, "") << target;
    EXPECT_EQ(head.header("content-type"), "application/json") << target;
    EXPECT_EQ(head.header("content-length"), std::to_string(get.body.size())) << target;
  }
  auto missing = server_->head("/workloads/nope");
  EXPECT_EQ(missing.status, 404u);
  EXPECT_EQ(missing.body, "");
  // A streamed GET: the headers only.
  auto watch_stream = server_->stream("/workloads?watch=true", boost::beast::http::verb::head);
  StreamingRequest& watch = *watch_stream;
  EXPECT_EQ(watch.status(), 200u);
  EXPECT_EQ(watch.header("Content-Type"), "application/x-ndjson");
  EXPECT_EQ(watch.readLine(), std::nullopt);
}

TEST_F(ServerFixture, UnknownRoutesAndMethodsGetJsonErrors) {
  namespace http = boost::beast::http;
  for (const char* target : {"/nope", "/workloads/w-1/nope", "/nodes/node-1/cordon/x", "/"}) {
    auto res = server_->get(target);
    EXPECT_EQ(res.status, 404u) << target;
    EXPECT_EQ(res.header("content-type"), "application/json") << target;
    EXPECT_EQ(res.json["error"]["code"], "NotFound") << target;
  }
  struct Case {
    http::verb method;
    const char* target;
    const char* allow;
  };
  for (const auto& c : {Case{http::verb::put, "/workloads", "POST, GET, HEAD"},
                        Case{http::verb::patch, "/workloads/w-1", "GET, HEAD, DELETE"},
                        Case{http::verb::delete_, "/nodes", "GET, HEAD, POST"},
                        Case{http::verb::get, "/nodes/node-1/cordon", "POST"},
                        Case{http::verb::post, "/healthz", "GET, HEAD"},
                        Case{http::verb::post, "/trust-levels", "GET, HEAD"}}) {
    auto res = server_->request(c.method, c.target, "{}");
    EXPECT_EQ(res.status, 405u) << c.target;
    EXPECT_EQ(res.header("allow"), c.allow) << c.target;
    EXPECT_EQ(res.header("content-type"), "application/json") << c.target;
    EXPECT_FALSE(res.json["error"]["message"].get<std::string>().empty()) << c.target;
  }
}

}  // namespace
}  // namespace zp::server::testing
