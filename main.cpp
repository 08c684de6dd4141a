// netlab: replays "iptables: How Kubernetes Services Direct Traffic to Pods" on real kernel
// objects, one verified, reversible step at a time. main only wires the command line.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>

#include "lab/error.h"
#include "lab/journal.h"
#include "lab/runner.h"
#include "lab/tutorial.h"
#include "netutil/netns.h"
#include "pods/http_client.h"
#include "pods/pod_server.h"
#include "steps/register.h"

namespace fs = std::filesystem;
using namespace netlab;

namespace {

fs::path self_exe() {
    std::error_code ec;
    auto p = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path("netlab") : p;
}

fs::path state_root() {
    const char* d = std::getenv("NETLAB_STATE_DIR");
    return d ? fs::path(d) : fs::path("/run/netlab");
}

void need_root(const std::string& what) {
    if (::geteuid() != 0)
        throw Error("netlab " + what + " needs root: it makes network namespaces and programs netlink "
                    "(CAP_SYS_ADMIN and CAP_NET_ADMIN)",
                    "run it with sudo: sudo netlab " + what);
}

void check_lab_name(const std::string& lab) {
    static const std::regex re("[a-z0-9][a-z0-9-]{0,11}");
    if (!std::regex_match(lab, re))
        throw UsageError("invalid lab name '" + lab + "': 1 to 12 lower-case letters, digits or '-', starting with a letter or digit");
}

// The tutorial a lab was built from (its journal says), else the one asked for.
std::string tutorial_for(const std::string& lab, const std::string& asked, bool explicit_choice) {
    if (explicit_choice) return asked;
    fs::path j = state_root() / lab / "journal.toml";
    if (fs::exists(j)) {
        lab::Journal journal(j);
        if (!journal.meta("tutorial").empty()) return journal.meta("tutorial");
    }
    return asked;
}

// "netns_dustin", "host", "world", "netlab" -> the real namespace name of this lab.
std::string resolve_ns(const lab::LabNames& names, std::string in) {
    if (in.empty() || in == "host") in = lab::LabNames::kHost;
    if (in == "world") in = std::string(lab::LabNames::kHost) + "-world";
    std::string real = names.ns(in);
    if (!net::netns_exists(real)) {
        if (net::netns_exists(in) && names.lab != "default") real = in;
        else
            throw UsageError("no namespace '" + real + "' (is the lab built? try: netlab run" +
                             (names.lab == "default" ? "" : " --lab " + names.lab) + ")");
    }
    return real;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"netlab: a network lab that replays \"iptables: How Kubernetes Services Direct Traffic to Pods\"\n"
                 "on real namespaces, bridges, veths and rules, one verified, reversible step at a time."};
    app.require_subcommand(1);
    app.fallthrough();
    std::string lab_name = "default", tutorial_name = "article";
    app.add_option("--lab", lab_name, "independent lab beside the default one (names prefixed with NAME-)");
    auto* tut_opt = app.add_option("--tutorial", tutorial_name, "tutorial name or .toml file (default: article)");

    auto* list = app.add_subcommand("list", "list the steps, ids, and which are applied");
    std::string until;
    bool no_verify = false;
    auto* run = app.add_subcommand("run", "apply the steps (up to --until STEP), verifying each");
    run->add_option("--until", until, "stop after this step");
    run->add_flag("--no-verify", no_verify, "skip the checks (faster; `netlab verify` checks later)");
    bool step_by_step = false;
    run->add_flag("--step-by-step", step_by_step, "pause after each step with its explanation (Enter goes on)");

    std::string shell_in;
    auto* shell = app.add_subcommand("shell", "an interactive shell in the lab host (or --in NS), prompt says where");
    shell->add_option("--in", shell_in, "namespace: netlab (the lab host, default), netns_dustin, netns_leah, world");

    int undo_steps = 1;
    std::string undo_to;
    bool undo_all = false;
    auto* undo = app.add_subcommand("undo", "walk back: the last step, --steps N, --to STEP, or --all");
    auto* o_steps = undo->add_option("--steps", undo_steps, "undo this many steps");
    auto* o_to = undo->add_option("--to", undo_to, "undo until STEP is the last applied");
    auto* o_all = undo->add_flag("--all", undo_all, "undo everything, the lab host included");
    o_steps->excludes(o_to)->excludes(o_all);
    o_to->excludes(o_all);

    bool json = false;
    auto* status = app.add_subcommand("status", "what is applied in this lab");
    status->add_flag("--json", json, "machine-readable");
    auto* verify = app.add_subcommand("verify", "check every applied step against the kernel, with real traffic");

    std::string exec_in;
    std::vector<std::string> exec_cmd;
    auto* exec = app.add_subcommand("exec", "run a command in the lab host or a pod namespace: netlab exec [--in NS] -- CMD...");
    exec->add_option("--in", exec_in, "namespace: netlab (the lab host, default), netns_dustin, netns_leah, world");
    exec->add_option("command", exec_cmd, "the command and its arguments")->required()->expected(-1);

    std::string curl_in, curl_url;
    int curl_n = 1;
    auto* curl = app.add_subcommand("curl", "HTTP GET with a new connection per request; shows which pod answered");
    curl->add_option("--in", curl_in, "namespace to send from (default: the lab host)");
    curl->add_option("-n,--count", curl_n, "number of requests (1..10000)")->check(CLI::Range(1, 10000));
    curl->add_option("url", curl_url, "e.g. 10.100.100.100:8080")->required();

    std::string explain_id;
    auto* explain = app.add_subcommand("explain", "what a step does and why, the equivalent commands, what to try");
    explain->add_option("step", explain_id, "step id")->required();

    pods::PodServerOptions pod_opt;
    auto* pod = app.add_subcommand("pod", "run an HTTP pod in the current namespace (netlab starts these itself)");
    pod->add_option("--name", pod_opt.name, "pod name it reports")->required();
    pod->add_option("--port", pod_opt.port, "TCP port (default 8080)");
    pod->add_option("--address", pod_opt.address, "listen address (default 0.0.0.0)");

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return 2;
    }

    try {
        check_lab_name(lab_name);
        if (pod->parsed()) return pods::run_pod_server(pod_opt);

        lab::Registry reg;
        steps::register_all(reg);
        lab::LabNames names{lab_name};
        std::string tname = tutorial_for(lab_name, tutorial_name, tut_opt->count() > 0);
        auto tut = lab::load_tutorial(lab::find_tutorial(tname, self_exe()), reg);
        lab::Runner runner(tut, reg, names, state_root(), self_exe(), std::cout);

        if (list->parsed()) return runner.list();
        if (status->parsed()) return runner.status(json);
        if (explain->parsed()) {
            const lab::Step* s = tut.find(explain_id);
            if (!s) {
                std::string near = lab::closest(explain_id, tut.ids());
                throw UsageError("unknown step '" + explain_id + "'" + (near.empty() ? "" : " (did you mean '" + near + "'?)"));
            }
            std::cout << s->id << ": " << s->title << "\n\n";
            if (!s->explain.empty()) std::cout << s->explain << (s->explain.back() == '\n' ? "" : "\n") << "\n";
            std::cout << "By hand, this step is:\n";
            for (auto& a : s->actions)
                for (auto& c : a->commands(names)) std::cout << "  " << c << "\n";
            if (!s->probes.empty()) {
                std::cout << "\nnetlab checks it with:\n";
                for (auto& p : s->probes) std::cout << "  " << p->describe(names) << "\n";
            }
            if (!s->try_this.empty()) {
                std::cout << "\nTry this:\n";
                for (auto& t : s->try_this) std::cout << "  " << t << "\n";
            }
            return 0;
        }
        if (run->parsed()) {
            need_root("run");
            lab::RunOptions ro{until, !no_verify, {}};
            if (step_by_step && ::isatty(STDIN_FILENO)) {
                ro.after_step = [&](const lab::Step& s) {
                    std::cout << "\n" << s.explain;
                    if (!s.try_this.empty()) {
                        std::cout << "Try this (in another terminal):\n";
                        for (auto& t : s.try_this) std::cout << "  " << t << "\n";
                    }
                    std::cout << "\n[Enter] for the next step, Ctrl-D to stop here " << std::flush;
                    std::string line;
                    if (!std::getline(std::cin, line)) throw Error("stopped after '" + s.id + "' (the lab stays as it is)");
                    std::cout << "\n";
                };
            }
            return runner.run(ro);
        }
        if (shell->parsed()) {
            need_root("shell");
            std::string real = resolve_ns(names, shell_in);
            fs::path rc = state_root() / lab_name / "shellrc";
            fs::create_directories(rc.parent_path());
            std::string label = real == names.ns(lab::LabNames::kHost) ? "lab host " + real : real;
            std::ofstream(rc) << "[ -f /etc/bash.bashrc ] && . /etc/bash.bashrc\n[ -f ~/.bashrc ] && . ~/.bashrc\n"
                              << "PS1='(netlab: " << label << ") \\w\\$ '\n"
                              << "echo \"netlab: a shell in " << label << "; the article's commands work here. exit or Ctrl-D leaves.\"\n";
            ::setenv("NETLAB_NETNS", real.c_str(), 1);
            net::netns_enter_for_exec(real);
            std::string rcs = rc.string();
            const char* av[] = {"bash", "--rcfile", rcs.c_str(), "-i", nullptr};
            ::execvp("bash", const_cast<char* const*>(av));
            throw Error("exec bash in netns " + real + ": " + errno_text(errno));
        }
        if (undo->parsed()) {
            need_root("undo");
            lab::UndoOptions o;
            o.steps = undo_steps;
            o.to = undo_to;
            o.all = undo_all;
            return runner.undo(o);
        }
        if (verify->parsed()) {
            need_root("verify");
            return runner.verify();
        }
        if (exec->parsed()) {
            need_root("exec");
            std::string real = resolve_ns(names, exec_in);
            net::netns_enter_for_exec(real);
            std::vector<char*> av;
            for (auto& a : exec_cmd) av.push_back(a.data());
            av.push_back(nullptr);
            ::execvp(av[0], av.data());
            throw Error("exec " + exec_cmd[0] + " in netns " + real + ": " + errno_text(errno));
        }
        if (curl->parsed()) {
            need_root("curl");
            auto url = pods::parse_url(curl_url);
            std::string real = resolve_ns(names, curl_in);
            std::map<std::string, int> dist;
            int failed = 0;
            auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
            {
                net::NetnsGuard g(real);
                for (int i = 0; i < curl_n && std::chrono::steady_clock::now() < deadline; ++i) {
                    auto r = pods::http_get(url.host, url.port, url.path, std::chrono::milliseconds(2000));
                    if (!r.ok) {
                        ++failed;
                        std::cout << (curl_n > 1 ? std::to_string(i + 1) + "  " : "") << "no reply: " << r.error << "\n";
                        continue;
                    }
                    ++dist[r.pod.empty() ? "(not a netlab pod)" : r.pod];
                    if (curl_n == 1) std::cout << r.body << (r.body.ends_with("\n") ? "" : "\n");
                    else
                        std::cout << i + 1 << "  " << r.pod << " at " << r.pod_addr << ":" << r.pod_port << " saw client "
                                  << r.client_addr << ":" << r.client_port << "\n";
                }
            }
            if (curl_n > 1) {
                std::cout << "\n";
                for (auto& [p, n] : dist) std::cout << "  " << p << ": " << n << " (" << (100 * n / curl_n) << "%)\n";
                if (failed) std::cout << "  no reply: " << failed << "\n";
            }
            return failed ? 1 : 0;
        }
    } catch (const UsageError& e) {
        std::cerr << "netlab: " << e.what() << "\n";
        if (!e.hint().empty()) std::cerr << "hint: " << e.hint() << "\n";
        return 2;
    } catch (const Error& e) {
        std::cerr << "netlab: " << e.what() << "\n";
        if (!e.hint().empty()) std::cerr << "hint: " << e.hint() << "\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "netlab: internal error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
