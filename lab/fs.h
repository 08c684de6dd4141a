// Small file helpers used by the journal and by the resolv.conf step.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace netlab::lab {

// The whole file, or nullopt when it does not exist. Throws Error on other failures.
std::optional<std::string> read_file(const std::filesystem::path& p);
// Writes atomically: temp file in the same directory, fsync, rename, fsync the directory. With
// `sync` false the two fsyncs are left out: still atomic for every reader and across a crash of the
// process, but a crash of the machine may keep the previous contents.
void write_file_atomic(const std::filesystem::path& p, const std::string& bytes, unsigned mode = 0644,
                       bool sync = true);
// Removes a file; absent is success.
void remove_file(const std::filesystem::path& p);

}  // namespace netlab::lab
