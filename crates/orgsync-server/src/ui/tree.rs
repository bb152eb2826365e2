//! A group's place in the hierarchy, drawn as a tree: its ancestors from
//! the top-level group down, the group itself, and its subtree.
//!
//! The hierarchy comes from `spec.parent` and `spec.children`. orgsync
//! rejects cycles when it builds entities, but the tree also stops at a
//! group it has already drawn, so a cycle written by another tool cannot
//! loop. Deep or wide hierarchies are cut at [`MAX_ANCESTORS`],
//! [`MAX_DEPTH`] and [`MAX_SUBTREE_GROUPS`], and the tree shows how many
//! child groups it left out.

use std::collections::{HashMap, HashSet};

use maud::{html, Markup};
use orgsync_model::Entity;
use orgsync_store::StoreError;

use super::entity::{display_name, group_href, string_list};
use crate::catalog::CatalogReader;

/// The maximum number of ancestors drawn above the group.
pub const MAX_ANCESTORS: usize = 32;
/// The maximum number of levels drawn below the group.
pub const MAX_DEPTH: usize = 6;
/// The maximum number of groups drawn below the group, over all levels.
pub const MAX_SUBTREE_GROUPS: usize = 200;

/// One group in the tree.
#[derive(Debug, Clone)]
struct Node {
    name: String,
    label: Option<String>,
    members: usize,
    /// The refs of its child groups, lower-cased.
    children: Vec<String>,
}

impl Node {
    fn of(entity: &Entity) -> Node {
        Node {
            name: entity.metadata.name.clone(),
            label: display_name(entity),
            members: entity.spec["members"].as_array().map_or(0, Vec::len),
            children: string_list(&entity.spec["children"])
                .into_iter()
                .map(|child| child.to_lowercase())
                .collect(),
        }
    }
}

/// The loaded hierarchy around one group.
#[derive(Debug)]
pub struct Hierarchy {
    /// From the top-level group down to the group's parent.
    ancestors: Vec<Node>,
    /// The group's parent, when it is in the catalog.
    parent: Option<Entity>,
    group: Node,
    /// Every loaded group below the group, by lower-cased ref.
    below: HashMap<String, Node>,
}

impl Hierarchy {
    /// Reads the ancestors of `group` one parent at a time, then its
    /// subtree one level at a time.
    pub async fn load(
        catalog: &dyn CatalogReader,
        group: &Entity,
    ) -> Result<Hierarchy, StoreError> {
        let group_ref = group.entity_ref().key();
        let mut seen: HashSet<String> = HashSet::from([group_ref]);

        let mut ancestors = Vec::new();
        let mut parent = None;
        let mut next = group.spec["parent"].as_str().map(str::to_lowercase);
        while let Some(parent_ref) = next.take() {
            if ancestors.len() >= MAX_ANCESTORS || !seen.insert(parent_ref.clone()) {
                break;
            }
            let Some(entity) = catalog.entity_by_ref(&parent_ref).await? else {
                break;
            };
            next = entity.spec["parent"].as_str().map(str::to_lowercase);
            ancestors.push(Node::of(&entity));
            if parent.is_none() {
                parent = Some(entity);
            }
        }
        ancestors.reverse();

        let node = Node::of(group);
        let mut below = HashMap::new();
        let mut level: Vec<String> = node.children.clone();
        for _ in 0..MAX_DEPTH {
            let room = MAX_SUBTREE_GROUPS.saturating_sub(below.len());
            let requested: Vec<String> = level
                .into_iter()
                .filter(|child| seen.insert(child.clone()))
                .take(room)
                .collect();
            if requested.is_empty() {
                break;
            }
            let found = catalog.entities_by_refs(&requested, None).await?;
            level = Vec::new();
            for (child_ref, entity) in requested.into_iter().zip(found) {
                if let Some(entity) = entity {
                    let child = Node::of(&entity);
                    level.extend(child.children.iter().cloned());
                    below.insert(child_ref, child);
                }
            }
        }

        Ok(Hierarchy {
            ancestors,
            parent,
            group: node,
            below,
        })
    }

    /// Returns the group's parent when it is in the catalog.
    pub fn parent(&self) -> Option<&Entity> {
        self.parent.as_ref()
    }

    /// Draws the tree as nested lists.
    pub fn render(&self) -> Markup {
        let mut drawn = HashSet::new();
        let current = html! {
            li {
                span class="node current" aria-current="page" {
                    (label(&self.group))
                    span class="count" { (members(self.group.members)) }
                }
                (self.subtree(&self.group, 0, &mut drawn))
            }
        };
        let tree = self
            .ancestors
            .iter()
            .rev()
            .fold(current, |inner, ancestor| {
                html! {
                    li {
                        span class="node" {
                            a href=(group_href(&ancestor.name)) { (label(ancestor)) }
                            span class="count" { (members(ancestor.members)) }
                        }
                        ul { (inner) }
                    }
                }
            });
        html! {
            ul class="tree" aria-label="Group hierarchy" { (tree) }
        }
    }

    fn subtree(&self, node: &Node, depth: usize, drawn: &mut HashSet<String>) -> Markup {
        if node.children.is_empty() {
            return html! {};
        }
        let mut visible = Vec::new();
        let mut hidden = 0;
        for child_ref in &node.children {
            match self.below.get(child_ref) {
                Some(child) if depth < MAX_DEPTH && drawn.insert(child_ref.clone()) => {
                    visible.push(child)
                }
                _ => hidden += 1,
            }
        }
        html! {
            ul {
                @for child in visible {
                    li {
                        span class="node" {
                            a href=(group_href(&child.name)) { (label(child)) }
                            span class="count" { (members(child.members)) }
                        }
                        (self.subtree(child, depth + 1, drawn))
                    }
                }
                @if hidden > 0 {
                    li class="muted" { "and " (hidden) " more child " (if hidden == 1 { "group" } else { "groups" }) " not drawn" }
                }
            }
        }
    }
}

fn label(node: &Node) -> Markup {
    match &node.label {
        Some(label) if *label != node.name => {
            html! { (label) " " span class="muted" { "(" (node.name) ")" } }
        }
        _ => html! { (node.name) },
    }
}

fn members(count: usize) -> String {
    if count == 1 {
        "1 member".to_string()
    } else {
        format!("{count} members")
    }
}
