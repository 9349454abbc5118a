//! Container-escape advisories against the engine's own components: which of the versions a
//! Docker daemon reports (`GET /version`, `Components`) predate the releases that fixed the
//! runc escapes CVE-2019-5736 and CVE-2024-21626.
//!
//! Distribution packages (Debian's `20.10.24+dfsg1`, `1.1.5+ds1`) backport security fixes
//! without changing the upstream part of the version, so an old upstream number there proves
//! nothing: such builds are reported with the version and a pointer to the distribution's
//! advisory instead of a false alarm. Only upstream builds older than a fix are flagged.

use std::cmp::Ordering;

/// A part of the engine an advisory is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    /// The Docker Engine (`Engine` in `/version`).
    Engine,
    /// The OCI runtime that starts containers (`runc`).
    Runc,
}

impl Component {
    pub fn name(self) -> &'static str {
        match self {
            Component::Engine => "docker",
            Component::Runc => "runc",
        }
    }
}

/// One escape and the first upstream release of a component that fixed it.
#[derive(Debug, Clone, Copy)]
pub struct Fix {
    pub cve: &'static str,
    pub component: Component,
    pub fixed_in: &'static str,
}

/// The runc escapes (overwriting the host's runc binary through `/proc/self/exe`; a leaked
/// host file descriptor as the working directory) and the releases that fixed them.
pub const FIXES: &[Fix] = &[
    Fix {
        cve: "CVE-2019-5736",
        component: Component::Runc,
        fixed_in: "1.0.0-rc6",
    },
    Fix {
        cve: "CVE-2019-5736",
        component: Component::Engine,
        fixed_in: "18.09.2",
    },
    Fix {
        cve: "CVE-2024-21626",
        component: Component::Runc,
        fixed_in: "1.1.12",
    },
    Fix {
        cve: "CVE-2024-21626",
        component: Component::Engine,
        fixed_in: "25.0.2",
    },
];

/// What can be said about one component's version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// At or past every fix.
    Patched,
    /// An upstream build older than these fixes.
    Vulnerable(Vec<&'static str>),
    /// A distribution build whose upstream part predates these fixes: the distribution may have
    /// backported them; only its advisory can tell.
    DistributionBuild(Vec<&'static str>),
    /// The version string could not be read.
    Unknown,
}

/// A dotted release number with an optional `-rcN` pre-release (`1.0.0-rc6` < `1.0.0`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Release {
    numbers: Vec<u64>,
    rc: Option<u64>,
}

impl Release {
    fn parse(version: &str) -> Option<Release> {
        let v = version.trim().trim_start_matches('v');
        // Build metadata (`+dfsg1`) and Debian's `~` suffixes are not part of the release.
        let v = v.split(['+', '~']).next().unwrap_or(v);
        let (main, pre) = match v.split_once('-') {
            Some((main, pre)) => (main, Some(pre)),
            None => (v, None),
        };
        let numbers = main
            .split('.')
            .map(|n| n.parse().ok())
            .collect::<Option<Vec<u64>>>()?;
        if numbers.is_empty() {
            return None;
        }
        let rc = match pre {
            None => None,
            Some(pre) => Some(
                pre.strip_prefix("rc")?
                    .trim_start_matches('.')
                    .parse()
                    .ok()?,
            ),
        };
        Some(Release { numbers, rc })
    }

    fn cmp(&self, other: &Release) -> Ordering {
        let len = self.numbers.len().max(other.numbers.len());
        let at = |r: &Release, i: usize| r.numbers.get(i).copied().unwrap_or(0);
        (0..len)
            .map(|i| at(self, i).cmp(&at(other, i)))
            .find(|o| o.is_ne())
            .unwrap_or_else(|| match (self.rc, other.rc) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(a), Some(b)) => a.cmp(&b),
            })
    }
}

/// Whether `version` (or the package revision in `git_commit`, where Debian puts
/// `1.1.5+ds1-1+deb12u1`) names a distribution build rather than an upstream release.
pub fn is_distribution_build(version: &str, git_commit: Option<&str>) -> bool {
    let marked =
        |s: &str| s.contains('+') || s.contains('~') || s.contains("deb") || s.contains("ubuntu");
    marked(version) || git_commit.is_some_and(marked)
}

/// Judges one component's version against [`FIXES`].
pub fn assess(component: Component, version: &str, git_commit: Option<&str>) -> Verdict {
    let Some(release) = Release::parse(version) else {
        return Verdict::Unknown;
    };
    let older: Vec<&'static str> = FIXES
        .iter()
        .filter(|f| f.component == component)
        .filter(|f| {
            Release::parse(f.fixed_in).is_some_and(|fixed| release.cmp(&fixed) == Ordering::Less)
        })
        .map(|f| f.cve)
        .collect();
    if older.is_empty() {
        Verdict::Patched
    } else if is_distribution_build(version, git_commit) {
        Verdict::DistributionBuild(older)
    } else {
        Verdict::Vulnerable(older)
    }
}

/// The first release of `component` that fixed `cve`.
pub fn fixed_in(component: Component, cve: &str) -> Option<&'static str> {
    FIXES
        .iter()
        .find(|f| f.component == component && f.cve == cve)
        .map(|f| f.fixed_in)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_candidates_come_before_the_release() {
        let p = |s| Release::parse(s).unwrap();
        assert_eq!(p("1.0.0-rc5").cmp(&p("1.0.0-rc6")), Ordering::Less);
        assert_eq!(p("1.0.0-rc6").cmp(&p("1.0.0")), Ordering::Less);
        assert_eq!(p("1.0.0-rc93").cmp(&p("1.0.0-rc6")), Ordering::Greater);
        assert_eq!(p("1.1.11").cmp(&p("1.1.12")), Ordering::Less);
        assert_eq!(p("1.1.12").cmp(&p("1.1.12")), Ordering::Equal);
        assert_eq!(p("1.2").cmp(&p("1.1.12")), Ordering::Greater);
        assert_eq!(p("v25.0.2").cmp(&p("25.0.1")), Ordering::Greater);
        assert_eq!(p("18.09.1").cmp(&p("18.09.2")), Ordering::Less);
        assert!(Release::parse("dev").is_none());
        assert!(Release::parse("1.0.0-beta").is_none());
    }

    #[test]
    fn upstream_builds_older_than_a_fix_are_flagged() {
        assert_eq!(
            assess(Component::Runc, "1.0.0-rc5", Some("4fc53a81")),
            Verdict::Vulnerable(vec!["CVE-2019-5736", "CVE-2024-21626"])
        );
        assert_eq!(
            assess(Component::Runc, "1.1.11", Some("v1.1.11-0-g4bccb38")),
            Verdict::Vulnerable(vec!["CVE-2024-21626"])
        );
        assert_eq!(assess(Component::Runc, "1.1.12", None), Verdict::Patched);
        assert_eq!(
            assess(Component::Engine, "18.09.1", None),
            Verdict::Vulnerable(vec!["CVE-2019-5736", "CVE-2024-21626"])
        );
        assert_eq!(
            assess(Component::Engine, "25.0.1", None),
            Verdict::Vulnerable(vec!["CVE-2024-21626"])
        );
        assert_eq!(assess(Component::Engine, "25.0.2", None), Verdict::Patched);
        assert_eq!(assess(Component::Engine, "27.3.1", None), Verdict::Patched);
        assert_eq!(assess(Component::Engine, "weird", None), Verdict::Unknown);
    }

    #[test]
    fn distribution_builds_are_not_a_false_alarm() {
        // Debian bookworm: docker.io 20.10.24+dfsg1, runc 1.1.5+ds1-1+deb12u1 (CVE-2024-21626
        // fixed there by backport).
        assert_eq!(
            assess(Component::Runc, "1.1.5+ds1", Some("1.1.5+ds1-1+deb12u1")),
            Verdict::DistributionBuild(vec!["CVE-2024-21626"])
        );
        assert_eq!(
            assess(Component::Engine, "20.10.24+dfsg1", Some("5d6db84")),
            Verdict::DistributionBuild(vec!["CVE-2024-21626"])
        );
        // The version itself is upstream, the package revision in the commit field says Debian.
        assert_eq!(
            assess(Component::Runc, "1.1.5", Some("1.1.5-1+deb12u1")),
            Verdict::DistributionBuild(vec!["CVE-2024-21626"])
        );
        assert_eq!(fixed_in(Component::Runc, "CVE-2024-21626"), Some("1.1.12"));
    }
}
