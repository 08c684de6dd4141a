// Command lines <-> words, the way a POSIX shell reads plain words and quotes. Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace netlab::rules {

// Splits a command line into words like a POSIX shell would for plain words, '...' and "..." quotes
// and backslash-newline continuations. Throws UsageError on an unterminated quote.
std::vector<std::string> split_words(std::string_view line);

// `word` as a shell reads it back with split_words: bare when safe, else in '...'.
std::string shell_quote(const std::string& word);

}  // namespace netlab::rules
