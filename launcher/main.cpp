// The socksify launcher: options → settings (options.cpp), settings → environment
// (environment.cpp), then the program run, supervised where needed (run.cpp).
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "launcher/check.hpp"
#include "launcher/environment.hpp"
#include "launcher/fail.hpp"
#include "launcher/options.hpp"
#include "launcher/pipeline.hpp"
#include "launcher/run.hpp"
#include "launcher/supervise_join.hpp"
#include "launcher/supervisor/supervisor.hpp"
#include "shim/exec_guard.hpp"
#include "shim/settings/config.hpp"
#include "shim/settings/settings_table.hpp"

extern char** environ;

namespace socksify::launcher {
using namespace shim;
namespace {

std::string g_password;  // the proxy password, for the shared state alone

const char* refuse_resolve(const char*, uint16_t, Config&) { return "not numeric"; }

int launcher_main(int argc, char** argv) {
    Options o = parse_args(argc, argv);
    // Command line, then proxychains.conf, then the config file: the first to set a
    // value wins; the environment only supplies what none of them set.
    if (o.has(Setting::kProxychainsConf)) {
        Options p = read_proxychains(o[Setting::kProxychainsConf]);
        // Its proxy_dns speaks for its own proxy: -x's scheme decides for -x's.
        if (o.proxy_source != nullptr) p.given[Options::idx(Setting::kDns)] = false;
        merge(o, p);
    }
    if (std::string path = find_config(o); !path.empty()) {
        Options f = read_config_file(path);
        merge(o, f);
    }
    pick_proxy(o);  // parsed here, once: o.hops
    std::string password = pick_password(o);

    // An inherited SOCKSIFY_AUDIT is checked like --audit, and made absolute too.
    if (const char* inherited = std::getenv(kEnvAudit);
        !o.has(Setting::kAudit) && inherited != nullptr && inherited[0] != '\0') {
        apply(o, setting(Setting::kAudit), inherited);
    }

    std::string lib = find_library();
    check_library(lib, o[Setting::kStrict] == "1");

    env_reset(environ);
    env_unset(kEnvPassword);
    export_settings(o);
    env_set("LD_PRELOAD", build_preload(lib, std::getenv("LD_PRELOAD")));
    g_password = std::move(password);

    // The library will parse exactly this environment: refuse here what it would refuse.
    static Config cfg;
    load_config(
        cfg,
        [](const char* name) -> const char* {
            if (std::strcmp(name, kEnvPassword) == 0)
                return g_password.empty() ? nullptr : g_password.c_str();
            return env_lookup(name);
        },
        refuse_resolve);
    explicit_bzero(g_password.data(), g_password.size());
    if (!cfg.valid) {
        if (std::strncmp(cfg.error, "bad SOCKSIFY_DIRECT", 19) == 0)
            die("too many --direct entries (at most 64 networks, loopback included, and 32 "
                "domain suffixes)");
        die(cfg.error);
    }
    // Strict mode, given or inherited, is enforced by the kernel: the supervisor makes
    // the connections, the library passes them on (never an outer run's word for it).
    if (cfg.strict)
        env_set(kEnvSupervised, "1");
    else
        env_unset(kEnvSupervised);
    if (o.has(Setting::kCheck) && cfg.proxy_kind != ProxyKind::kSocks5 &&
        cfg.proxy_kind != ProxyKind::kRaw)  // raw: reachability is the whole check
        die(std::string("--check speaks SOCKS5 only; this proxy is ") +
            proxy_scheme(cfg.proxy_kind, cfg.remote_dns));
    if (o.has(Setting::kCheck)) return run_check(cfg, o.check_target);

    bool supervised = false;
    std::vector<char*> stage =
        supervised_argv(argv + o.program, o.supervise, cfg.strict, supervised);
    // Refusals first: a run that never starts makes no state.
    // Under --strict the supervised run still refuses setuid and capability programs
    // (no_new_privs would strip what they need).
    if (!supervised || cfg.strict) check_program(argv[o.program], cfg.strict, supervised);
    remove_stale_shm();
    std::string shm = create_state_for(cfg);
    env_set(kEnvShm, shm);
    if (std::string s = supervisor_env(o.supervise, supervised, env_lookup); s.empty())
        env_unset(kEnvSupervisor);  // an outer run's is not ours
    else
        env_set(kEnvSupervisor, s);
    start_pipeline_learning(cfg, shm);
    explicit_bzero(cfg.pass, sizeof cfg.pass);
    if (cfg.strict) hide_from_job(argv, o.program);
    int status = run(supervised ? stage.data() : argv + o.program);
    finish_pipeline_learning();
    return status;
}

}  // namespace
}  // namespace socksify::launcher

int main(int argc, char** argv) {
    if (argc > 1 && std::strcmp(argv[1], socksify::launcher::kStageFlag) == 0)
        socksify::launcher::stage_main(argc, argv);
    if (argc > 1 && std::strcmp(argv[1], socksify::shim::kJoinFlag) == 0)
        socksify::launcher::join_main(argc, argv);
    return socksify::launcher::launcher_main(argc, argv);
}
