// CgroupExitHints on a scratch directory laid out like a node's pod cgroups
// (<node>/pod<uid>/<container id>): mkdir and rmdir raise the same inotify
// events there as on cgroupfs. The runtime is a function the test answers
// for; tests/integration/agent_events_test.cc covers runc and containerd.

#include "agent/cgroup_exit_hints.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

namespace zp::agent {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// What the hints asked and told, and what the "runtime" answers.
class FakeRuntimeView {
 public:
  HintedContainer check(const std::string& id) {
    std::lock_guard lock(mu_);
    ++asked_[id];
    changed_.notify_all();
    const auto it = answers_.find(id);
    return it == answers_.end() ? HintedContainer::kUnknown : it->second;
  }
  void ended() {
    std::lock_guard lock(mu_);
    ++ended_;
    changed_.notify_all();
  }
  void answer(const std::string& id, HintedContainer a) {
    std::lock_guard lock(mu_);
    answers_[id] = a;
  }
  int asked(const std::string& id) {
    std::lock_guard lock(mu_);
    return asked_[id];
  }
  int ended_count() {
    std::lock_guard lock(mu_);
    return ended_;
  }
  // Waits (at most `limit`) until `done` holds; `done` takes the lock
  // itself, so it is checked again at least every 5 ms.
  bool waitFor(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::unique_lock lock(mu_);
      changed_.wait_for(lock, 5ms);
    }
    return true;
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  std::map<std::string, HintedContainer> answers_;
  std::map<std::string, int> asked_;
  int ended_ = 0;
};

const std::string kContainer(64, 'c');
const std::string kSandbox(64, 'a');

class CgroupExitHintsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/zp-hints-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    node_ = tmpl;
  }
  void TearDown() override {
    hints_.reset();
    fs::remove_all(node_);
  }
  void start(ExitHintTiming timing = {}) {
    auto hints = CgroupExitHints::start(
        node_, [this](const std::string& id) { return view_.check(id); }, [this] { view_.ended(); },
        timing);
    ASSERT_TRUE(hints) << hints.error().toString();
    hints_ = std::move(*hints);
  }
  // A container's cgroup that the runtime then removes, as runc delete does.
  void endContainer(const fs::path& pod, const std::string& id) {
    fs::create_directories(node_ / pod / id);
    fs::remove(node_ / pod / id);
  }

  fs::path node_;
  FakeRuntimeView view_;
  std::unique_ptr<CgroupExitHints> hints_;
};

TEST_F(CgroupExitHintsTest, AContainerWhoseCgroupIsRemovedIsAskedAboutAndItsEndReported) {
  fs::create_directories(node_ / "pod-1" / kContainer);
  ASSERT_NO_FATAL_FAILURE(start());
  view_.answer(kContainer, HintedContainer::kEnded);
  fs::remove(node_ / "pod-1" / kContainer);
  ASSERT_TRUE(view_.waitFor([&] { return view_.ended_count() == 1; }));
  EXPECT_EQ(view_.asked(kContainer), 1);
}

TEST_F(CgroupExitHintsTest, APodCreatedAfterTheStartIsWatchedToo) {
  ASSERT_NO_FATAL_FAILURE(start());
  fs::create_directories(node_ / "pod-2");
  // The watch on the new pod is added on the hints' thread: a container
  // removed before that is not heard of (the relist's to find), so try a few.
  bool heard = false;
  for (int i = 0; i < 50 && !heard; ++i) {
    const std::string id = std::string(63, 'd') + "0123456789"[i % 10] + std::to_string(i);
    view_.answer(id, HintedContainer::kEnded);
    endContainer("pod-2", id);
    heard = view_.waitFor([&] { return view_.ended_count() > 0; }, 100ms);
  }
  EXPECT_TRUE(heard);
}

TEST_F(CgroupExitHintsTest, TheRuntimeIsAskedAgainUntilItReportsTheEnd) {
  fs::create_directories(node_ / "pod-3");
  ASSERT_NO_FATAL_FAILURE(start({.poll = 2ms, .give_up = 10s}));
  view_.answer(kContainer, HintedContainer::kNotYet);
  endContainer("pod-3", kContainer);
  ASSERT_TRUE(view_.waitFor([&] { return view_.asked(kContainer) >= 3; }));
  EXPECT_EQ(view_.ended_count(), 0);
  view_.answer(kContainer, HintedContainer::kEnded);
  ASSERT_TRUE(view_.waitFor([&] { return view_.ended_count() == 1; }));
}

TEST_F(CgroupExitHintsTest, ASandboxsCgroupIsAskedAboutOnceAndReportsNothing) {
  fs::create_directories(node_ / "pod-4");
  ASSERT_NO_FATAL_FAILURE(start({.poll = 1ms, .give_up = 10s}));
  endContainer("pod-4", kSandbox);  // the runtime knows no container of that id
  ASSERT_TRUE(view_.waitFor([&] { return view_.asked(kSandbox) == 1; }));
  // A container ended after it is reported alone, and the sandbox not asked again.
  view_.answer(kContainer, HintedContainer::kEnded);
  endContainer("pod-4", kContainer);
  ASSERT_TRUE(view_.waitFor([&] { return view_.ended_count() == 1; }));
  EXPECT_EQ(view_.asked(kSandbox), 1);
}

TEST_F(CgroupExitHintsTest, AHintIsGivenUpWhenTheRuntimeNeverReportsTheEnd) {
  fs::create_directories(node_ / "pod-5");
  ASSERT_NO_FATAL_FAILURE(start({.poll = 1ms, .give_up = 50ms}));
  view_.answer(kContainer, HintedContainer::kNotYet);
  endContainer("pod-5", kContainer);
  ASSERT_TRUE(view_.waitFor([&] { return view_.asked(kContainer) >= 2; }));
  // Once given up, the count stops growing: 20 asks 1 ms apart, then 10 ms
  // apart until 50 ms have passed (the default 2 s would make ~200).
  int before = -1;
  for (int i = 0; i < 100 && before != view_.asked(kContainer); ++i) {
    before = view_.asked(kContainer);
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(view_.asked(kContainer), before);
  EXPECT_LE(before, 30);
  EXPECT_EQ(view_.ended_count(), 0);
}

TEST_F(CgroupExitHintsTest, NamesThatAreNotContainerIdsAndPlainFilesAreIgnored) {
  fs::create_directories(node_ / "pod-6");
  ASSERT_NO_FATAL_FAILURE(start({.poll = 1ms, .give_up = 10s}));
  view_.answer("Not-Hex", HintedContainer::kEnded);
  endContainer("pod-6", "Not-Hex");
  std::ofstream(node_ / "pod-6" / kSandbox) << "x";
  fs::remove(node_ / "pod-6" / kSandbox);
  // Not a pod directory: not watched.
  fs::create_directories(node_ / "other" / kContainer);
  // Then one that counts, so the test knows the others were read first.
  view_.answer(kContainer, HintedContainer::kEnded);
  fs::remove(node_ / "other" / kContainer);
  endContainer("pod-6", kContainer);
  ASSERT_TRUE(view_.waitFor([&] { return view_.ended_count() == 1; }));
  EXPECT_EQ(view_.asked("Not-Hex"), 0);
  EXPECT_EQ(view_.asked(kSandbox), 0);
  EXPECT_EQ(view_.asked(kContainer), 1);
}

TEST_F(CgroupExitHintsTest, ANodeDirectoryRemovedAndMadeAgainIsWatchedAgain) {
  ASSERT_NO_FATAL_FAILURE(start());
  fs::remove(node_);
  fs::create_directories(node_ / "pod-7");
  // It is looked for again within a second; try until a hint gets through.
  bool heard = false;
  for (int i = 0; i < 100 && !heard; ++i) {
    const std::string id = std::string(60, 'e') + std::to_string(1000 + i);
    view_.answer(id, HintedContainer::kEnded);
    endContainer("pod-7", id);
    heard = view_.waitFor([&] { return view_.ended_count() > 0; }, 100ms);
  }
  EXPECT_TRUE(heard);
}

TEST_F(CgroupExitHintsTest, AMissingNodeDirectoryFailsTheStart) {
  auto hints = CgroupExitHints::start(
      node_ / "absent", [](const std::string&) { return HintedContainer::kUnknown; }, [] {});
  ASSERT_FALSE(hints);
  EXPECT_NE(hints.error().message.find("absent"), std::string::npos) << hints.error().message;
}

TEST_F(CgroupExitHintsTest, NothingIsCalledOnceDestroyed) {
  fs::create_directories(node_ / "pod-8");
  ASSERT_NO_FATAL_FAILURE(start({.poll = 1ms, .give_up = 10s}));
  view_.answer(kContainer, HintedContainer::kNotYet);
  endContainer("pod-8", kContainer);
  ASSERT_TRUE(view_.waitFor([&] { return view_.asked(kContainer) >= 1; }));
  hints_.reset();
  const int asked = view_.asked(kContainer);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(view_.asked(kContainer), asked);
}

}  // namespace
}  // namespace zp::agent
