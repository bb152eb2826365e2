//! Generated users: names, logins, statuses, departments and managers.
//!
//! User 0 is the chief executive in the `Executive` department. The next
//! users head one department each, and every later manager reports to an
//! earlier one in the same department, which makes manager chains several
//! levels deep. About one user in eight is a manager, and everyone else
//! reports to one of them.

use chrono::DateTime;
use chrono::Utc;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Map, Value};

use super::names::{CITIES, DEPARTMENTS, DOMAINS, FIRST_NAMES, LAST_NAMES, TITLES};
use super::Clock;
use crate::org::{Id, Org};

/// The first users after the chief executive, fixed so that every generated
/// org of a few users has a local part shared by two domains, accents,
/// Polish and Japanese names: (first name, last name, login).
const FIXED_PEOPLE: [(&str, &str, &str); 5] = [
    ("Ana", "Silva", "ana@a.example"),
    ("Ana", "García", "ana@b.example"),
    ("Zoë", "Müller", "zoe.muller@corp.example"),
    ("Łukasz", "Nowak", "lukasz.nowak@eu.example"),
    ("太郎", "山田", "taro.yamada@corp.example"),
];

/// Statuses with their weights out of 100.
const STATUS_WEIGHTS: [(&str, u32); 7] = [
    ("ACTIVE", 86),
    ("STAGED", 3),
    ("PROVISIONED", 3),
    ("SUSPENDED", 2),
    ("LOCKED_OUT", 2),
    ("PASSWORD_EXPIRED", 1),
    ("DEPROVISIONED", 3),
];

/// A generated user, as the group planner needs it.
#[derive(Debug, Clone)]
pub(super) struct Person {
    pub(super) id: Id,
    pub(super) department: usize,
}

/// Generates `count` users into `org`, in manager order.
pub(super) fn generate_people(
    rng: &mut ChaCha8Rng,
    org: &mut Org,
    clock: &Clock,
    count: usize,
) -> Vec<Person> {
    let managers = (count / 8).max(1);
    let heads = (DEPARTMENTS.len() - 1).min(managers.saturating_sub(1));
    let mut people: Vec<Person> = Vec::with_capacity(count);
    let mut display_names: Vec<String> = Vec::with_capacity(count);

    for index in 0..count {
        let manager = choose_manager(rng, index, heads, managers);
        let department = match manager {
            None => 0,
            Some(_) if index <= heads => index,
            Some(manager) => people[manager].department,
        };
        let (first, last, login) = choose_name(rng, org, index);
        let status = if index < managers {
            "ACTIVE"
        } else {
            choose_status(rng)
        };

        let id = org.new_id("00u");
        let mut profile = base_profile(rng, first, last, &login, department, index);
        if let Some(manager) = manager {
            profile.insert("manager".to_owned(), json!(display_names[manager]));
            profile.insert("managerId".to_owned(), json!(people[manager].id.as_ref()));
        }
        let object = user_object(rng, clock, &id, status, org.user_type_id(), profile);
        match org.insert_user(object) {
            Ok(id) => people.push(Person { id, department }),
            Err(error) => {
                // Logins are checked for uniqueness above, so this only logs a bug.
                tracing::error!(%error, %login, "inserting generated user failed");
                people.push(Person {
                    id: Id::from(id),
                    department,
                });
            }
        }
        display_names.push(format!("{first} {last}"));
    }
    people
}

/// Returns the number of departments in use, the `Executive` department included.
pub(super) fn department_count(people: &[Person]) -> usize {
    people
        .iter()
        .map(|person| person.department + 1)
        .max()
        .unwrap_or(0)
}

/// Returns the indexes of the people in a department. The department heads also
/// belong to `Executive` (department 0).
pub(super) fn members_of_department(people: &[Person], department: usize) -> Vec<u32> {
    let heads = department_count(people).saturating_sub(1);
    people
        .iter()
        .enumerate()
        .filter(|(index, person)| {
            person.department == department || (department == 0 && *index <= heads)
        })
        .map(|(index, _)| index as u32)
        .collect()
}

fn choose_manager(
    rng: &mut ChaCha8Rng,
    index: usize,
    heads: usize,
    managers: usize,
) -> Option<usize> {
    if index == 0 {
        return None;
    }
    if index <= heads {
        return Some(0);
    }
    if index < managers {
        // Squaring favours early managers, which keeps chains a few levels deep.
        let share: f64 = rng.gen::<f64>().powi(2);
        let manager = 1 + ((index - 1) as f64 * share) as usize;
        return Some(manager.min(index - 1));
    }
    let first_manager = usize::from(managers > 1);
    Some(rng.gen_range(first_manager..managers))
}

fn choose_name(
    rng: &mut ChaCha8Rng,
    org: &Org,
    index: usize,
) -> (&'static str, &'static str, String) {
    if let Some(&(first, last, login)) = index.checked_sub(1).and_then(|i| FIXED_PEOPLE.get(i)) {
        if !org.login_taken(login) {
            return (first, last, login.to_owned());
        }
    }
    let first = FIRST_NAMES[rng.gen_range(0..FIRST_NAMES.len())];
    let last = LAST_NAMES[rng.gen_range(0..LAST_NAMES.len())];
    let local = match rng.gen_range(0..20) {
        0..=11 => format!("{}.{}", mail_word(first), mail_word(last)),
        12..=16 => mail_word(first),
        _ => format!(
            "{}{}",
            mail_word(first).chars().next().unwrap_or('x'),
            mail_word(last)
        ),
    };
    let domain = DOMAINS[rng.gen_range(0..DOMAINS.len())];
    (first, last, unique_login(org, &local, domain))
}

/// Transliterates a name into an email local-part word: `Łukasz` becomes
/// `lukasz` and `O'Brien` keeps its apostrophe, which emails allow.
fn mail_word(name: &str) -> String {
    deunicode::deunicode(name)
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '\'' | '-'))
        .collect()
}

fn unique_login(org: &Org, local: &str, domain: &str) -> String {
    let local = if local.is_empty() { "user" } else { local };
    let mut login = format!("{local}@{domain}");
    let mut suffix = 2;
    while org.login_taken(&login) {
        login = format!("{local}{suffix}@{domain}");
        suffix += 1;
    }
    login
}

fn choose_status(rng: &mut ChaCha8Rng) -> &'static str {
    let mut roll = rng.gen_range(0..100);
    for (status, weight) in STATUS_WEIGHTS {
        if roll < weight {
            return status;
        }
        roll -= weight;
    }
    "ACTIVE"
}

fn base_profile(
    rng: &mut ChaCha8Rng,
    first: &str,
    last: &str,
    login: &str,
    department: usize,
    index: usize,
) -> Map<String, Value> {
    let (city, country) = CITIES[rng.gen_range(0..CITIES.len())];
    let mobile = if rng.gen_ratio(1, 2) {
        json!(format!(
            "+1-555-{:03}-{:04}",
            rng.gen_range(0..1000),
            rng.gen_range(0..10000)
        ))
    } else {
        Value::Null
    };
    let user_type = if rng.gen_ratio(1, 10) {
        "Contractor"
    } else {
        "Employee"
    };
    let profile = json!({
        "firstName": first,
        "lastName": last,
        "mobilePhone": mobile,
        "secondEmail": null,
        "login": login,
        "email": login,
        "displayName": format!("{first} {last}"),
        "title": TITLES[rng.gen_range(0..TITLES.len())],
        "department": DEPARTMENTS[department],
        "organization": "Example Corp",
        "costCenter": format!("CC-{:03}", department * 10 + rng.gen_range(0..10)),
        "employeeNumber": format!("{}", 10_000 + index),
        "userType": user_type,
        "city": city,
        "countryCode": country,
    });
    match profile {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Builds the user object with timestamps that fit its status.
fn user_object(
    rng: &mut ChaCha8Rng,
    clock: &Clock,
    id: &str,
    status: &str,
    type_id: &str,
    profile: Map<String, Value>,
) -> Value {
    let created = clock.after(rng, clock.birth);
    let never_activated = matches!(status, "STAGED");
    let activated = clock.within_days(rng, created, 3);
    let status_changed = if status == "ACTIVE" {
        activated
    } else {
        clock.after(rng, activated)
    };
    let last_login = match status {
        "STAGED" | "PROVISIONED" => None,
        "DEPROVISIONED" => Some(clock.within_days(rng, activated, 30).min(status_changed)),
        _ => Some(clock.after(rng, activated)),
    };
    let updated = clock.after(rng, status_changed);
    let password_changed = match status {
        "STAGED" | "PROVISIONED" => None,
        _ => Some(activated),
    };
    let optional = |time: Option<DateTime<Utc>>| time.map(Clock::stamp).unwrap_or(Value::Null);

    let email = profile.get("email").cloned().unwrap_or(Value::Null);
    json!({
        "id": id,
        "status": status,
        "created": Clock::stamp(created),
        "activated": if never_activated { Value::Null } else { Clock::stamp(activated) },
        "statusChanged": if never_activated { Value::Null } else { Clock::stamp(status_changed) },
        "lastLogin": optional(last_login),
        "lastUpdated": Clock::stamp(updated),
        "passwordChanged": optional(password_changed),
        "type": { "id": type_id },
        "profile": profile,
        "credentials": {
            "password": {},
            "emails": [{ "value": email, "status": "VERIFIED", "type": "PRIMARY" }],
            "provider": { "type": "OKTA", "name": "OKTA" },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_word_transliterates() {
        assert_eq!(mail_word("Łukasz"), "lukasz");
        assert_eq!(mail_word("O'Brien"), "o'brien");
        assert_eq!(mail_word("van der Berg"), "vanderberg");
    }

    #[test]
    fn mail_word_handles_japanese() {
        assert!(!mail_word("山田").is_empty());
    }
}
