#pragma once
// Opens the SQLite store of a store test: a failure is reported to
// GoogleTest (the test goes on and fails) and gives nullptr.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>

#include "store/sqlite_store.h"

namespace zp::store::testing {

inline std::unique_ptr<SqliteStore> openOrDie(
    const std::string& path, SqliteStore::Options options = SqliteStore::Options{}) {
  auto store = SqliteStore::open(path, options);
  if (!store) ADD_FAILURE() << store.error().toString();
  return store ? std::move(*store) : nullptr;
}

}  // namespace zp::store::testing
