#pragma once
// Keeps the database's files private to the server's user: the records hold
// env values, which may be secrets. POSIX file modes; blocking I/O; call from
// any thread (it only touches the files of one database path).

#include <string>

#include "common/status.h"

namespace zp::store {

// The files SQLite keeps beside a database file.
inline constexpr const char* kDatabaseCompanions[] = {"-wal", "-shm", "-journal"};

// For the database file `path` (not ":memory:"):
//  - creates it empty with mode 0600 when it does not exist (SQLite gives the
//    -wal and -shm files it creates later the database file's mode);
//  - sets mode 0600 on it and on existing companion files;
//  - sets mode 0700 on its directory when the directory is dedicated to it:
//    owned by this user, not sticky, and holding nothing but the database
//    and its companions. A shared directory (/tmp, a home directory) keeps
//    its mode, with a warning in the log when others can read it.
// Errors: kUnavailable naming the file and the system's reason.
Status makeDatabaseFilesPrivate(const std::string& path);

}  // namespace zp::store
