//! Roles and their capabilities: the SPEC §3 table, one method per column.
//!
//! Every match is exhaustive (no `_` arm) so a new role forces a decision in each capability.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Collaborator,
    Candidate,
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Collaborator => "collaborator",
            Role::Candidate => "candidate",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "owner" => Some(Role::Owner),
            "collaborator" => Some(Role::Collaborator),
            "candidate" => Some(Role::Candidate),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }

    /// Higher rank wins when an invite or unlock meets an existing membership: access is
    /// upgraded, never downgraded.
    pub fn rank(self) -> u8 {
        match self {
            Role::Owner => 4,
            Role::Collaborator => 3,
            Role::Candidate => 2,
            Role::Viewer => 1,
        }
    }

    /// See the pad, its files, output, chat and presence; send chat.
    pub fn can_view(self) -> bool {
        match self {
            Role::Owner | Role::Collaborator | Role::Candidate | Role::Viewer => true,
        }
    }

    pub fn can_chat(self) -> bool {
        match self {
            Role::Owner | Role::Collaborator | Role::Candidate | Role::Viewer => true,
        }
    }

    /// Edit code, manage files, run code, type in the terminal.
    pub fn can_edit(self) -> bool {
        match self {
            Role::Owner | Role::Collaborator | Role::Candidate => true,
            Role::Viewer => false,
        }
    }

    pub fn can_run(self) -> bool {
        self.can_edit()
    }

    /// Fork the pad and watch playback (a candidate may not take the interview home).
    pub fn can_fork(self) -> bool {
        match self {
            Role::Owner | Role::Collaborator | Role::Viewer => true,
            Role::Candidate => false,
        }
    }

    pub fn can_watch_playback(self) -> bool {
        self.can_fork()
    }

    /// Start and stop recordings.
    pub fn can_record(self) -> bool {
        match self {
            Role::Owner | Role::Collaborator => true,
            Role::Candidate | Role::Viewer => false,
        }
    }

    /// Interviewer notes, rubric, question bank.
    pub fn can_see_interviewer_notes(self) -> bool {
        self.can_record()
    }

    /// Held by an interview's switches (locked pad, run or terminal off, ended) and its waiting
    /// room; interviewers set them, viewers are read-only anyway.
    pub fn bound_by_interview_switches(self) -> bool {
        match self {
            Role::Candidate => true,
            Role::Owner | Role::Collaborator | Role::Viewer => false,
        }
    }

    /// Rename/delete the pad, password, invites, kick, change roles, delete recordings.
    pub fn can_manage(self) -> bool {
        match self {
            Role::Owner => true,
            Role::Collaborator | Role::Candidate | Role::Viewer => false,
        }
    }

    /// Roles an owner may hand out through invites, passwords and role changes.
    pub fn is_grantable(self) -> bool {
        match self {
            Role::Owner => false,
            Role::Collaborator | Role::Candidate | Role::Viewer => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Role::{self, *};

    /// The SPEC §3 table, row by row: (capability, owner, collaborator, candidate, viewer).
    #[test]
    fn capabilities_match_the_spec_table() {
        type Row = (&'static str, fn(Role) -> bool, [bool; 4]);
        let table: [Row; 8] = [
            ("view", Role::can_view, [true, true, true, true]),
            ("chat", Role::can_chat, [true, true, true, true]),
            ("edit/run", Role::can_edit, [true, true, true, false]),
            ("fork/playback", Role::can_fork, [true, true, false, true]),
            ("record", Role::can_record, [true, true, false, false]),
            (
                "notes",
                Role::can_see_interviewer_notes,
                [true, true, false, false],
            ),
            ("manage", Role::can_manage, [true, false, false, false]),
            (
                "interview switches",
                Role::bound_by_interview_switches,
                [false, false, true, false],
            ),
        ];
        for (name, capability, expected) in table {
            let actual = [Owner, Collaborator, Candidate, Viewer].map(capability);
            assert_eq!(actual, expected, "capability {name}");
        }
        assert!(Role::can_run(Candidate));
        assert!(!Role::can_watch_playback(Candidate));
    }

    #[test]
    fn parse_round_trips() {
        for role in [Owner, Collaborator, Candidate, Viewer] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("admin"), None);
    }
}
