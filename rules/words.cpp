// Shell words: split_words reads a command line the way a POSIX shell reads plain words and quotes;
// shell_quote writes a word so that split_words gives it back. Pure.
#include "rules/words.h"

#include "base/error.h"

namespace netlab::rules {

namespace {

bool shell_safe(const std::string& w) {
    static const char safe[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=+,@%";
    return !w.empty() && w.find_first_not_of(safe) == std::string::npos;
}

}  // namespace

std::string shell_quote(const std::string& w) {
    if (shell_safe(w)) return w;
    std::string out = "'";
    for (char c : w) {
        if (c == '\'') out += "'\\''";
        else out += c;
    }
    return out + "'";
}

std::vector<std::string> split_words(std::string_view line) {
    std::vector<std::string> words;
    std::string cur;
    bool in_word = false;
    size_t i = 0;
    const size_t n = line.size();
    auto finish = [&] {
        if (in_word) words.push_back(cur);
        cur.clear();
        in_word = false;
    };
    while (i < n) {
        char ch = line[i];
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
            finish();
            ++i;
        } else if (ch == '#' && !in_word) {
            while (i < n && line[i] != '\n') ++i;
        } else if (ch == '\\') {
            // Backslash-newline is a continuation; so is a backslash followed only by blanks up to
            // the end of the line (a copy-paste artefact in the article's listings).
            size_t j = i + 1;
            while (j < n && (line[j] == ' ' || line[j] == '\t' || line[j] == '\r')) ++j;
            if (j >= n || line[j] == '\n') {
                if (j >= n && j == i + 1) throw UsageError("unterminated escape at the end of: " + std::string(line));
                i = j < n ? j + 1 : j;
                continue;
            }
            cur += line[i + 1];
            in_word = true;
            i += 2;
        } else if (ch == '\'') {
            auto close = line.find('\'', i + 1);
            if (close == std::string_view::npos) throw UsageError("unterminated ' quote in: " + std::string(line));
            cur.append(line.substr(i + 1, close - i - 1));
            in_word = true;
            i = close + 1;
        } else if (ch == '"') {
            ++i;
            in_word = true;
            bool closed = false;
            while (i < n) {
                char d = line[i];
                if (d == '"') {
                    closed = true;
                    ++i;
                    break;
                }
                if (d == '\\' && i + 1 < n) {
                    char e = line[i + 1];
                    if (e == '\n') {
                        i += 2;
                        continue;
                    }
                    if (e == '$' || e == '`' || e == '"' || e == '\\') {
                        cur += e;
                        i += 2;
                        continue;
                    }
                }
                cur += d;
                ++i;
            }
            if (!closed) throw UsageError("unterminated \" quote in: " + std::string(line));
        } else {
            cur += ch;
            in_word = true;
            ++i;
        }
    }
    finish();
    return words;
}

}  // namespace netlab::rules
