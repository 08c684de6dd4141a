// The one translation unit that includes CLI11: it turns the command table (cli/cli.h) into the
// parser and its --help, checks every option value by its kind before any handler runs, and turns
// CLI11's errors into netlab's one-line messages (exit 2) with "did you mean".
#include <CLI/CLI.hpp>

#include <iostream>
#include <regex>
#include <sstream>

#include "base/did_you_mean.h"
#include "base/error.h"
#include "base/ipv4.h"
#include "cli/cli.h"
#include "cli/meta.h"
#include "pods/http_client.h"

namespace netlab::cli {

namespace fs = std::filesystem;

std::string Option::name() const {
    if (positional()) return flags;
    auto comma = flags.rfind(',');
    return comma == std::string::npos ? flags : flags.substr(comma + 1);
}

namespace {
Option make(std::string flags, std::string help, Kind kind) {
    Option o;
    o.flags = std::move(flags);
    o.help = std::move(help);
    o.kind = kind;
    return o;
}
}  // namespace

Option flag(std::string flags, std::string help, bool* into) {
    Option o = make(std::move(flags), std::move(help), Kind::Flag);
    o.into = into;
    return o;
}

Option value(Kind kind, std::string flags, std::string help, std::string* into) {
    Option o = make(std::move(flags), std::move(help), kind);
    o.into = into;
    return o;
}

Option number(Kind kind, std::string flags, std::string help, int* into, long long min, long long max) {
    Option o = make(std::move(flags), std::move(help), kind);
    o.into = into;
    o.min = min;
    o.max = max;
    return o;
}

Option choice(std::string flags, std::string help, std::string* into, std::vector<std::string> choices) {
    Option o = make(std::move(flags), std::move(help), Kind::Choice);
    o.into = into;
    o.choices = std::move(choices);
    return o;
}

Option words(std::string name, std::string help, std::vector<std::string>* into) {
    Option o = make(std::move(name), std::move(help), Kind::Words);
    o.into = into;
    return o;
}

namespace {

// A value as it can be shown on one line: control characters and non-ASCII bytes as \xNN.
std::string shown(const std::string& v) {
    std::string s = "'";
    for (unsigned char c : v) {
        if (c < 0x20 || c >= 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            s += buf;
        } else {
            s += static_cast<char>(c);
        }
    }
    return s + "'";
}

bool blank(const std::string& v) {
    return v.find_first_not_of(" \t\n\r\v\f") == std::string::npos;
}

bool printable_ascii(const std::string& v) {
    for (unsigned char c : v)
        if (c < 0x20 || c >= 0x7f) return false;
    return true;
}

// What a value of this kind is, for messages ("a step id") and for --help ("STEP").
std::string what(Kind k) {
    switch (k) {
        case Kind::Lab: return "a lab name";
        case Kind::Tutorial: return "a tutorial name or .toml file";
        case Kind::Name: return "a name";
        case Kind::Step: return "a step id";
        case Kind::Count: return "a number";
        case Kind::Seconds: return "a number of seconds";
        case Kind::Port: return "a port number";
        case Kind::Fd: return "a file descriptor number";
        case Kind::Address: return "an IPv4 address";
        case Kind::Cidrs: return "IPv4 prefixes like 10.0.0.0/24,192.168.0.0/16";
        case Kind::Namespace: return "a namespace of the lab";
        case Kind::Url: return "a URL like 10.100.100.100:8080/path";
        case Kind::OutputFile: return "a file name";
        case Kind::Choice: return "one of the listed values";
        case Kind::Answers: return "answer numbers like 2,1,3";
        case Kind::Words: return "a command";
        case Kind::Flag: break;
    }
    return "a value";
}

std::string type_name(Kind k) {
    switch (k) {
        case Kind::Lab: return "NAME";
        case Kind::Tutorial: return "TUTORIAL";
        case Kind::Name: return "NAME";
        case Kind::Step: return "STEP";
        case Kind::Count: return "N";
        case Kind::Seconds: return "SECONDS";
        case Kind::Port: return "PORT";
        case Kind::Fd: return "FD";
        case Kind::Address: return "ADDRESS";
        case Kind::Cidrs: return "CIDR,...";
        case Kind::Namespace: return "NS";
        case Kind::Url: return "URL";
        case Kind::OutputFile: return "FILE";
        case Kind::Choice: return "WORD";
        case Kind::Answers: return "ANSWERS";
        case Kind::Words: return "CMD";
        case Kind::Flag: break;
    }
    return "";
}

std::string check_number(const Option& o, const std::string& v) {
    static const std::regex num("-?[0-9]+");
    if (!std::regex_match(v, num)) return shown(v) + " is not a number";
    std::string digits = v[0] == '-' ? v.substr(1) : v;
    digits.erase(0, std::min(digits.find_first_not_of('0'), digits.size() - 1));
    bool huge = digits.size() > 12;
    long long n = huge ? 0 : std::stoll(v);
    if (huge || n < o.min || n > o.max)
        return v + " is out of range: " + std::to_string(o.min) + " to " + std::to_string(o.max);
    return "";
}

// The one check of an option value, by its kind: "" when fine, else the reason (CLI11 puts the
// option's name in front).
std::string check(const Option& o, const std::string& v) {
    if (o.kind == Kind::Words) return v.empty() && !o.positional() ? "empty value" : "";
    if (v.empty()) return "empty value (expected " + what(o.kind) + ")";
    if (blank(v)) return "blank value " + shown(v) + " (expected " + what(o.kind) + ")";
    switch (o.kind) {
        case Kind::Count:
        case Kind::Seconds:
        case Kind::Port:
        case Kind::Fd: return check_number(o, v);
        default: break;
    }
    if (!printable_ascii(v))
        return shown(v) + " has a control character or a non-ASCII byte (expected " + what(o.kind) + ")";
    switch (o.kind) {
        case Kind::Lab: {
            static const std::regex lab_re("[a-z0-9][a-z0-9-]{0,11}");
            if (!std::regex_match(v, lab_re))
                return "invalid lab name " + shown(v) +
                       ": 1 to 12 lower-case letters, digits or '-', starting with a letter or digit";
            return "";
        }
        case Kind::Name:
        case Kind::Step:
        case Kind::Namespace: {
            static const std::regex name_re("[A-Za-z0-9_.][A-Za-z0-9_.-]{0,63}");
            if (!std::regex_match(v, name_re))
                return shown(v) + " is not " + what(o.kind) + " (letters, digits, '-', '_' and '.', at most 64)";
            return "";
        }
        case Kind::Address:
            if (!parse_ipv4(v)) return shown(v) + " is not an IPv4 address (like 10.0.0.1)";
            return "";
        case Kind::Cidrs: {
            std::stringstream ss(v);
            std::string item;
            while (std::getline(ss, item, ','))
                if (!parse_ipv4_cidr(item)) return shown(item) + " is not an IPv4 address or prefix (like 10.0.0.0/24)";
            if (v.back() == ',') return shown(v) + " ends with a comma";
            return "";
        }
        case Kind::Url:
            if (v.find(' ') != std::string::npos) return shown(v) + " has a blank in it";
            try {
                pods::parse_url(v);
            } catch (const std::exception& e) {
                return e.what();
            }
            return "";
        case Kind::OutputFile: {
            fs::path p(v);
            std::error_code ec;
            if (v.back() == '/' || fs::is_directory(p, ec)) return shown(v) + " is a directory, not a file";
            fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
            if (!fs::is_directory(dir, ec)) return "no directory " + shown(dir.string()) + " to write " + shown(v) + " in";
            return "";
        }
        case Kind::Choice: {
            for (auto& c : o.choices)
                if (v == c) return "";
            std::string list;
            for (auto& c : o.choices) list += (list.empty() ? "" : ", ") + c;
            return unknown("value", v, o.choices) + "; one of: " + list;
        }
        case Kind::Answers: {
            static const std::regex ans_re("([0-9]{1,3}|s)(,([0-9]{1,3}|s))*");
            if (!std::regex_match(v, ans_re)) return shown(v) + " is not a list of answer numbers like 2,1,3 (s skips one)";
            return "";
        }
        default: return "";
    }
}

CLI::Option* add(CLI::App& app, const Option& o) {
    CLI::Option* opt = nullptr;
    std::visit(
        [&](auto* target) {
            using T = std::remove_pointer_t<decltype(target)>;
            if constexpr (std::is_same_v<T, bool>) opt = app.add_flag(o.flags, *target, o.help);
            else opt = app.add_option(o.flags, *target, o.help);
        },
        o.into);
    if (o.kind == Kind::Words) opt->expected(-1);
    if (o.kind != Kind::Flag) {
        opt->type_name(type_name(o.kind));
        Option copy = o;
        opt->check(CLI::Validator([copy](std::string& v) { return check(copy, v); }, "", ""));
    }
    if (o.is_required) opt->required();
    return opt;
}

// The global options, shared by the parser, the man page and the completions.
std::vector<Option> global_options(Invocation& g, bool* version) {
    return {value(Kind::Lab, "--lab", "independent lab beside the default one (namespace names prefixed NAME-)", &g.lab),
            value(Kind::Tutorial, "--tutorial", "tutorial name or .toml file (default: article)", &g.tutorial),
            flag("--version", "print netlab's version and the git revision it was built from", version)};
}

const char* kDescription =
    "netlab: a network lab that replays \"iptables: How Kubernetes Services Direct Traffic to Pods\"\n"
    "on real namespaces, bridges, veths and rules, one verified, reversible step at a time.";

std::vector<std::string> visible_commands(const CommandTable& table) {
    std::vector<std::string> names;
    for (auto& c : table)
        if (!c.hidden) names.push_back(c.name);
    return names;
}

std::string joined(const std::vector<std::string>& v) {
    std::string s;
    for (auto& x : v) s += (s.empty() ? "" : " ") + x;
    return s;
}

const Option* find_global(const std::vector<Option>& globals, const std::string& a) {
    for (auto& o : globals)
        if (a == o.name()) return &o;
    return nullptr;
}

// Before CLI11 sees the line: --version, a missing or mistyped command, a global option without its
// value ("netlab --lab run" took the command as the lab's name). Returns true when --version was
// printed.
bool precheck(const CommandTable& table, const std::vector<Option>& globals, int argc, char** argv) {
    const auto names = visible_commands(table);
    auto is_command = [&](const std::string& a) {
        for (auto& c : table)
            if (a == c.name) return true;
        return false;
    };
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-h" || a == "--help" || a == "--help-all") return false;
        if (a == "--version") {
            std::cout << version_text() << "\n";
            return true;
        }
        if (const Option* o = find_global(globals, a); o && o->kind != Kind::Flag) {
            if (i + 1 >= argc) throw UsageError(a + ": no value given (expected " + what(o->kind) + ")");
            std::string v = argv[i + 1];
            if (is_command(v) && i + 2 >= argc)
                throw UsageError(a + ": no value given before the command '" + v + "' (netlab " + a + " " +
                                 type_name(o->kind) + " " + v + ")");
            ++i;
            continue;
        }
        if (a.rfind("--lab=", 0) == 0 || a.rfind("--tutorial=", 0) == 0) continue;
        if (a.rfind("-", 0) == 0) {
            std::vector<std::string> flags;
            for (auto& o : globals) flags.push_back(o.name());
            flags.push_back("--help");
            throw UsageError(unknown("option", a.substr(0, a.find('=')), flags) +
                             " (options go after the command: netlab COMMAND --help lists them)");
        }
        if (is_command(a)) return false;
        throw UsageError(unknown("command", a, names) + "; commands: " + joined(names));
    }
    throw UsageError("no command given; commands: " + joined(names) + " (netlab --help explains them)");
}

// Anything CLI11 left over: an unknown option gets "did you mean", a bare step id where an option
// takes one is suggested with it ("netlab run bridge" -> --until bridge).
void check_extras(Invocation& g, const Command& c, std::vector<std::string> extras) {
    std::erase(extras, "--");  // the separator before exec's command is kept by CLI11
    if (extras.empty()) return;
    const std::string x = extras.front();
    const std::string where = "'netlab " + c.name + "'";
    if (x.rfind("-", 0) == 0 && x.size() > 1) {
        std::vector<std::string> flags{"--help"};
        for (auto& o : c.options)
            if (!o.positional()) flags.push_back(o.name());
        const std::string opt = x.substr(0, x.find('='));
        std::string hint = did_you_mean(opt, flags);
        throw UsageError("unknown option " + shown(opt) + " for " + where +
                         (hint.empty() ? " (netlab " + c.name + " --help lists its options)" : hint));
    }
    for (auto& o : c.options) {
        if (o.kind != Kind::Step || o.positional()) continue;
        std::vector<std::string> ids;
        try {
            ids = g.tut().ids();
        } catch (const std::exception&) {
        }
        std::string id = std::find(ids.begin(), ids.end(), x) != ids.end() ? x : closest(x, ids);
        if (!id.empty())
            throw UsageError(where + " takes no argument " + shown(x) + ": did you mean 'netlab " + c.name + " " +
                             o.name() + " " + id + "'?");
    }
    throw UsageError(where + " takes no argument " + shown(x) + " (netlab " + c.name + " --help lists what it takes)");
}

// A step id given to any option must be a step of the lab's tutorial: the error names the option
// ("--until: unknown step 'BRIDGE' (did you mean 'bridge'?)").
void check_steps(Invocation& g, const Command& c) {
    for (auto& o : c.options) {
        if (o.kind != Kind::Step) continue;
        const std::string& v = *std::get<std::string*>(o.into);
        if (v.empty()) continue;
        const auto& t = g.tut();  // a tutorial that cannot be loaded is its own error
        if (t.find(v)) continue;
        try {
            t.step(v);
        } catch (const UsageError& e) {
            throw UsageError(o.name() + ": " + e.what(), e.hint());
        }
    }
}

// CLI11's error, as netlab's one line naming the option.
std::string message(const CLI::ParseError& e) {
    std::string m = e.what();
    static const std::regex missing(R"(^(\S+): \d+ required (\S+) missing$)");
    std::smatch sm;
    if (std::regex_match(m, sm, missing)) return sm[1].str() + ": no value given (expected " + sm[2].str() + ")";
    return m;
}

}  // namespace

int run(int argc, char** argv, Invocation& g, CommandTable& table) {
    if (argc >= 2 && std::string(argv[1]) == "__man") {
        write_man(table, std::cout);
        return 0;
    }
    if (argc >= 2 && std::string(argv[1]) == "__complete") {
        complete(g, table, std::vector<std::string>(argv + 2, argv + argc), std::cout);
        return 0;
    }
    bool version = false;
    const auto globals = global_options(g, &version);
    if (precheck(table, globals, argc, argv)) return 0;

    CLI::App app{kDescription};
    app.require_subcommand(1);
    app.fallthrough();
    app.allow_extras();
    CLI::Option* tutorial_opt = nullptr;
    for (auto& o : globals) {
        auto* opt = add(app, o);
        if (o.name() == "--tutorial") tutorial_opt = opt;
    }
    std::vector<std::pair<CLI::App*, const Command*>> subs;
    for (auto& c : table) {
        auto* sub = app.add_subcommand(c.name, c.help);
        if (c.hidden) sub->group("");
        if (!c.footer.empty()) sub->footer(c.footer);
        sub->allow_extras();
        for (auto& o : c.options) add(*sub, o);
        for (auto& o : c.options) {
            auto* opt = sub->get_option(o.name());
            for (auto& x : o.excluded) opt->excludes(sub->get_option(x));
            if (!o.needed.empty()) opt->needs(sub->get_option(o.needed));
        }
        subs.emplace_back(sub, &c);
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        throw UsageError(message(e));
    }
    g.tutorial_given = tutorial_opt->count() > 0;
    for (auto& [sub, c] : subs) {
        if (!sub->parsed()) continue;
        check_extras(g, *c, app.remaining(true));
        check_steps(g, *c);
        return c->run(g);
    }
    throw UsageError("no command given (netlab --help explains them)");
}

// ------------------------------------------------------------------------------- the man page

namespace {

// Text as roff: backslashes escaped, '-' as \-, a line starting with '.' or '\'' protected.
std::string roff(const std::string& text) {
    std::string out;
    bool line_start = true;
    for (char c : text) {
        if (line_start && (c == '.' || c == '\'')) out += "\\&";
        if (c == '\\') out += "\\e";
        else if (c == '-') out += "\\-";
        else out += c;
        line_start = c == '\n';
    }
    return out;
}

void man_option(std::ostream& out, const Option& o) {
    out << ".TP\n";
    if (o.positional()) {
        out << "\\fI" << roff(o.flags) << "\\fR" << (o.kind == Kind::Words ? " ..." : "") << "\n";
    } else {
        std::string f = o.flags, line;
        size_t start = 0;
        while (start <= f.size()) {
            auto comma = f.find(',', start);
            std::string one = f.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
            line += (line.empty() ? "" : ", ") + std::string("\\fB") + roff(one) + "\\fR";
            if (comma == std::string::npos) break;
            start = comma + 1;
        }
        if (o.kind != Kind::Flag) line += " \\fI" + type_name(o.kind) + "\\fR";
        out << line << "\n";
    }
    std::string help = o.help;
    if (o.kind == Kind::Choice) {
        help += " (one of:";
        for (auto& c : o.choices) help += " " + c;
        help += ")";
    }
    if (o.is_required) help += " (required)";
    out << roff(help) << "\n";
}

}  // namespace

void write_man(const CommandTable& table, std::ostream& out) {
    Invocation g;
    bool version = false;
    out << ".\\\" Generated by `netlab __man` from the same command table as netlab --help.\n"
        << ".TH NETLAB 1 \"\" \"" << roff(version_text()) << "\" \"User Commands\"\n"
        << ".ad l\n"  // no justification: a long synopsis keeps single spaces
        << ".SH NAME\nnetlab \\- a network lab that replays the Kubernetes Services article on real kernel objects\n"
        << ".SH SYNOPSIS\n.B netlab\n[\\fB\\-\\-lab\\fR \\fINAME\\fR] [\\fB\\-\\-tutorial\\fR \\fITUTORIAL\\fR] "
           "\\fICOMMAND\\fR [\\fIOPTIONS\\fR]\n.br\n.B netlab \\-\\-version\n"
        << ".SH DESCRIPTION\n" << roff(kDescription) << "\n"
        << ".PP\nEvery command takes \\fB\\-\\-help\\fR. An option value that is empty, blank, malformed or out of "
           "range is refused before anything runs (exit status 2).\n"
        << ".SH GLOBAL OPTIONS\n";
    for (auto& o : global_options(g, &version)) man_option(out, o);
    out << ".SH COMMANDS\n";
    for (auto& c : table) {
        if (c.hidden) continue;
        std::string synopsis = "netlab " + c.name;
        for (auto& o : c.options) {
            std::string part = o.positional() ? o.flags : o.name() + (o.kind == Kind::Flag ? "" : " " + type_name(o.kind));
            if (o.kind == Kind::Words) part = "-- " + part + "...";
            synopsis += " " + (o.is_required ? part : "[" + part + "]");
        }
        out << ".SS \"" << roff(synopsis) << "\"\n" << roff(c.help) << "\n";
        for (auto& o : c.options) man_option(out, o);
        if (!c.footer.empty()) out << ".PP\n" << roff(c.footer);
    }
    out << ".SH ENVIRONMENT\n"
        << ".TP\n.B NETLAB_STATE_DIR\nwhere the labs' journals live (default /run/netlab)\n"
        << ".TP\n.B NETLAB_TUTORIALS\nan extra directory searched first for tutorials\n"
        << ".SH EXIT STATUS\n"
        << ".TP\n.B 0\nthe command did what it was asked\n"
        << ".TP\n.B 1\na check failed or the machine refused a change (the message says which)\n"
        << ".TP\n.B 2\nbad input: an unknown command, step or tutorial, or a bad option value; nothing was changed\n"
        << ".TP\n.B 130\ninterrupted (Ctrl\\-C); the lab is left consistent\n"
        << ".SH FILES\n"
        << ".TP\n.I /run/netlab/LAB/journal.toml\nwhat a lab made, so that it can be undone\n"
        << ".SH SEE ALSO\n.BR ip (8),\n.BR iptables (8),\n.BR nft (8)\n";
}

// ------------------------------------------------------------------------------- completion

namespace {

const Option* find_option(const std::vector<Option>& opts, const std::string& word) {
    for (auto& o : opts) {
        if (o.positional()) continue;
        std::string f = o.flags;
        size_t start = 0;
        while (true) {
            auto comma = f.find(',', start);
            if (f.substr(start, comma == std::string::npos ? std::string::npos : comma - start) == word) return &o;
            if (comma == std::string::npos) break;
            start = comma + 1;
        }
    }
    return nullptr;
}

}  // namespace

// `words` are the command line after "netlab", the last one being the word under the cursor.
void complete(Invocation& g, const CommandTable& table, const std::vector<std::string>& words, std::ostream& out) {
    if (words.empty()) return;
    const std::string cur = words.back();
    bool version = false;
    const auto globals = global_options(g, &version);
    const Command* cmd = nullptr;
    const Option* pending = nullptr;  // the option whose value the next word is
    size_t positionals = 0;
    bool after_dashes = false;
    for (size_t i = 0; i + 1 < words.size(); ++i) {
        const std::string& w = words[i];
        if (pending) {
            if (pending->kind == Kind::Lab && check(*pending, w).empty()) g.lab = w;
            if (pending->kind == Kind::Tutorial && check(*pending, w).empty()) {
                g.tutorial = w;
                g.tutorial_given = true;
            }
            pending = nullptr;
            continue;
        }
        if (w == "--") {
            after_dashes = true;
            continue;
        }
        const auto& opts = cmd ? cmd->options : globals;
        if (!after_dashes && w.rfind("-", 0) == 0) {
            const Option* o = find_option(opts, w);
            if (!o && cmd) o = find_option(globals, w);
            if (o && o->kind != Kind::Flag) pending = o;
            continue;
        }
        if (!cmd) {
            for (auto& c : table)
                if (c.name == w) cmd = &c;
            continue;
        }
        ++positionals;
    }
    std::vector<std::string> cands;
    auto values = [&](const Option& o) {
        switch (o.kind) {
            case Kind::Lab: cands = lab_names(g); break;
            case Kind::Tutorial: cands = tutorial_names(g); out << "__files__\n"; break;
            case Kind::Step: cands = step_ids(g); break;
            case Kind::Namespace: cands = namespace_names(g); break;
            case Kind::Choice: cands = o.choices; break;
            case Kind::OutputFile: out << "__files__\n"; break;
            case Kind::Words: out << "__commands__\n"; break;
            default: break;
        }
    };
    if (pending) {
        values(*pending);
    } else if (!cmd) {
        if (cur.rfind("-", 0) == 0) {
            for (auto& o : globals) cands.push_back(o.name());
            cands.push_back("--help");
        } else {
            cands = visible_commands(table);
        }
    } else if (cmd->hidden) {
        return;
    } else if (cur.rfind("-", 0) == 0 && !after_dashes) {
        for (auto& o : cmd->options)
            if (!o.positional()) cands.push_back(o.name());
        cands.push_back("--help");
    } else {
        size_t n = 0;
        for (auto& o : cmd->options) {
            if (!o.positional()) continue;
            if (n++ == positionals || o.kind == Kind::Words) {
                values(o);
                break;
            }
        }
    }
    for (auto& c : cands)
        if (c.rfind(cur, 0) == 0) out << c << "\n";
}

}  // namespace netlab::cli
