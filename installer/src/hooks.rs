//! Running the answer's hooks (`[[hook]]`, [`crate::answer::Hook`]): `early` ones before the
//! answer is used (they may rewrite it, as subiquity's early-commands do), `late` ones after the
//! install (in the live system, or with `chroot = true` inside the installed one), `error` ones
//! when a step fails. Each runs under `bash -c` with its timeout (`timeout(1)`), through the
//! runner (so its command line and output reach the install log once the log is open, and its
//! output is reported as progress), with the install's state in its environment:
//! `INSTALLER_HOOK` (early, late, error), `INSTALLER_ANSWER` (the answer file), `INSTALLER_ROOT`
//! (where the target is mounted), `INSTALLER_DISKS` (the plan's disks, space-separated),
//! `INSTALLER_HOSTNAME`, and for error hooks `INSTALLER_FAILED_STEP` and `INSTALLER_ERROR`.

use std::path::Path;

use anyhow::Result;

use crate::answer::{Hook, HookWhen};
use crate::progress::{Event, Reporter};

/// The install's state as hooks see it.
#[derive(Debug, Clone, Default)]
pub struct HookEnv {
    pub answer: std::path::PathBuf,
    pub root: std::path::PathBuf,
    pub disks: Vec<String>,
    pub hostname: String,
    /// Error hooks: the step that failed and its error.
    pub failed: Option<(String, String)>,
}

impl HookEnv {
    fn vars(&self, when: HookWhen) -> Vec<(&'static str, String)> {
        let mut v = vec![
            ("INSTALLER_HOOK", when.name().to_string()),
            ("INSTALLER_ANSWER", self.answer.display().to_string()),
            ("INSTALLER_ROOT", self.root.display().to_string()),
            ("INSTALLER_DISKS", self.disks.join(" ")),
            ("INSTALLER_HOSTNAME", self.hostname.clone()),
        ];
        if let Some((step, error)) = &self.failed {
            v.push(("INSTALLER_FAILED_STEP", step.clone()));
            v.push(("INSTALLER_ERROR", error.clone()));
        }
        v
    }
}

/// The command line that runs hook `h`: under `timeout`, in a chroot of `root` when it asks.
pub fn command(h: &Hook, index: usize, root: &Path, env: &HookEnv) -> runner::Cmd {
    let what = format!("the {} hook [[hook]] {}", h.when.name(), index + 1);
    let mut c = runner::Cmd::new(what, "timeout").args(["--kill-after=10", &format!("{}s", h.timeout)]);
    if h.chroot {
        c = c.arg("chroot").arg(root);
    }
    c = c.args(["/bin/bash", "-c", h.run.as_str()]);
    for (k, v) in env.vars(h.when) {
        c = c.env(k, v);
    }
    c
}

/// Runs the hooks of kind `when`, in the answer's order; stops at the first that fails (exit
/// status, or its timeout: `timeout` exits 124). Returns how many ran.
pub fn run(hooks: &[Hook], when: HookWhen, env: &HookEnv, reporter: &dyn Reporter) -> Result<usize> {
    let mut n = 0;
    for (i, h) in hooks.iter().enumerate().filter(|(_, h)| h.when == when) {
        let _mounts = if h.chroot { Some(crate::install::enter::chroot_mounts(&env.root)?) } else { None };
        let c = command(h, i, &env.root, env);
        reporter.report(Event::Info { message: format!("running {}", c.what()) });
        let result = c.run();
        let (stdout, ok) = match &result {
            Ok(o) => (o.stdout.clone(), true),
            Err(runner::RunError::Failed { stdout, .. }) => (stdout.clone(), false),
            Err(_) => (String::new(), false),
        };
        for line in stdout.lines().take(200) {
            runner::log_note(&format!("hook {}: {line}", i + 1));
            reporter.report(Event::Info { message: format!("hook {}: {line}", i + 1) });
        }
        n += 1;
        if !ok {
            let e = result.err().map(|e| e.to_string()).unwrap_or_default();
            let timed_out = e.contains("exit status: 124") || e.contains("exit status: 137");
            let why =
                if timed_out { format!(" (stopped: its timeout is {} s)", h.timeout) } else { String::new() };
            anyhow::bail!("{e}{why}");
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn hook(when: HookWhen, run: &str) -> Hook {
        Hook { when, run: run.into(), chroot: false, timeout: 30 }
    }

    struct Collect(Arc<Mutex<Vec<String>>>);
    impl Reporter for Collect {
        fn report(&self, e: Event) {
            if let Event::Info { message } = e {
                self.0.lock().unwrap().push(message);
            }
        }
    }

    #[test]
    fn hooks_of_one_kind_run_in_order_with_the_installs_state_and_the_first_failure_stops_them() {
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("out");
        let env = HookEnv {
            answer: t.path().join("answer.toml"),
            root: t.path().to_path_buf(),
            disks: vec!["/dev/vda".into(), "/dev/vdb".into()],
            hostname: "web1".into(),
            failed: Some(("copying".into(), "disk full".into())),
        };
        let o = out.display();
        let hooks = vec![
            hook(HookWhen::Early, &format!("echo early >> {o}")),
            hook(
                HookWhen::Error,
                &format!("echo \"$INSTALLER_HOOK $INSTALLER_DISKS $INSTALLER_HOSTNAME\" >> {o}"),
            ),
            hook(
                HookWhen::Error,
                &format!("echo \"$INSTALLER_FAILED_STEP: $INSTALLER_ERROR\" >> {o}; echo said"),
            ),
            hook(HookWhen::Error, "exit 7"),
            hook(HookWhen::Error, &format!("echo never >> {o}")),
        ];
        let seen = Arc::new(Mutex::new(vec![]));
        let e = run(&hooks, HookWhen::Error, &env, &Collect(seen.clone())).unwrap_err().to_string();
        assert!(
            e.starts_with("the error hook [[hook]] 4: `timeout") && e.contains("failed (exit status: 7)"),
            "{e}"
        );
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "error /dev/vda /dev/vdb web1\ncopying: disk full\n",
            "early hooks do not run, and nothing after the failure"
        );
        let seen = seen.lock().unwrap();
        assert!(seen.contains(&"running the error hook [[hook]] 2".to_string()), "{seen:?}");
        assert!(seen.contains(&"hook 3: said".to_string()), "output is reported: {seen:?}");
        assert_eq!(run(&hooks, HookWhen::Late, &env, &Collect(Arc::default())).unwrap(), 0);
    }

    #[test]
    fn a_hook_that_outlives_its_timeout_is_stopped_and_fails() {
        let t = tempfile::tempdir().unwrap();
        let env = HookEnv { root: t.path().to_path_buf(), ..Default::default() };
        let mut h = hook(HookWhen::Late, "sleep 30");
        h.timeout = 1;
        let start = std::time::Instant::now();
        let e = run(&[h], HookWhen::Late, &env, &Collect(Arc::default())).unwrap_err().to_string();
        assert!(start.elapsed() < std::time::Duration::from_secs(10));
        assert!(e.contains("its timeout is 1 s"), "{e}");
    }

    #[test]
    fn a_chroot_hook_runs_inside_the_root_under_a_timeout() {
        let mut h = hook(HookWhen::Late, "touch /hooked");
        h.chroot = true;
        let env = HookEnv { root: "/mnt".into(), ..Default::default() };
        let c = command(&h, 0, Path::new("/mnt"), &env);
        assert_eq!(c.display(), "timeout '--kill-after=10' 30s chroot /mnt /bin/bash -c 'touch /hooked'");
        assert_eq!(c.what(), "the late hook [[hook]] 1");
    }
}
