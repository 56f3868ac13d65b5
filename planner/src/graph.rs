//! The project's resource graph, the dependency cycle finder, and the grouping of plan actions into waves.
//!
//! Edges point from a dependency to what needs it: a network, volume or image comes before the containers
//! using it, and a service before the services that `depends_on` it. The diff reads the graph to give each
//! action its `depends_on`; `waves` then layers the actions so each wave needs only earlier waves, which is
//! what lets apply run a wave's actions in parallel.

use std::collections::{BTreeMap, HashMap};

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;

use crate::hash;
use crate::model::{Project, ServiceSpec};
use crate::plan::{Action, Op};

/// One resource of a desired project, named by compose key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceNode {
    /// The image a service runs (pulled or built), keyed by service.
    Image(String),
    Network(String),
    Volume(String),
    /// All containers of a service.
    Service(String),
}

/// Dependencies between a project's resources.
#[derive(Debug, Default)]
pub struct ResourceGraph {
    graph: DiGraph<ResourceNode, ()>,
    index: HashMap<ResourceNode, NodeIndex>,
}

impl ResourceGraph {
    /// Builds the graph of a desired project. External networks and volumes are nodes too (containers still
    /// attach to them), they simply never get actions.
    pub fn of(project: &Project) -> Self {
        let mut graph = ResourceGraph::default();
        for key in project.networks.keys() {
            graph.node(ResourceNode::Network(key.clone()));
        }
        for key in project.volumes.keys() {
            graph.node(ResourceNode::Volume(key.clone()));
        }
        for (name, spec) in &project.services {
            let service = ResourceNode::Service(name.clone());
            graph.edge(ResourceNode::Image(name.clone()), service.clone());
            for key in hash::service_network_keys(project, spec) {
                graph.edge(ResourceNode::Network(key.to_string()), service.clone());
            }
            for key in hash::service_volume_keys(project, spec) {
                graph.edge(ResourceNode::Volume(key.to_string()), service.clone());
            }
            for dependency in spec.depends_on.keys() {
                if project.services.contains_key(dependency) {
                    graph.edge(ResourceNode::Service(dependency.clone()), service.clone());
                }
            }
        }
        graph
    }

    fn node(&mut self, node: ResourceNode) -> NodeIndex {
        if let Some(&idx) = self.index.get(&node) {
            return idx;
        }
        let idx = self.graph.add_node(node.clone());
        self.index.insert(node, idx);
        idx
    }

    fn edge(&mut self, from: ResourceNode, to: ResourceNode) {
        let (a, b) = (self.node(from), self.node(to));
        self.graph.update_edge(a, b, ());
    }

    /// What `node` needs before it can be created (its direct dependencies).
    pub fn requirements(&self, node: &ResourceNode) -> Vec<&ResourceNode> {
        self.neighbours(node, Direction::Incoming)
    }

    /// What needs `node` (its direct dependents).
    pub fn dependents(&self, node: &ResourceNode) -> Vec<&ResourceNode> {
        self.neighbours(node, Direction::Outgoing)
    }

    fn neighbours(&self, node: &ResourceNode, direction: Direction) -> Vec<&ResourceNode> {
        let Some(&idx) = self.index.get(node) else {
            return Vec::new();
        };
        let mut found: Vec<&ResourceNode> = self
            .graph
            .neighbors_directed(idx, direction)
            .map(|n| &self.graph[n])
            .collect();
        found.sort();
        found
    }
}

/// The first `depends_on` cycle among `services`, as the services along it with the first repeated at the
/// end (`["web", "api", "web"]`). Deterministic: services are explored in name order. Dependencies on
/// services that do not exist are ignored here (validation reports them separately).
pub fn find_service_cycle(services: &BTreeMap<String, ServiceSpec>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Unvisited,
        OnPath,
        Done,
    }
    fn visit<'a>(
        name: &'a str,
        services: &'a BTreeMap<String, ServiceSpec>,
        marks: &mut HashMap<&'a str, Mark>,
        path: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        marks.insert(name, Mark::OnPath);
        path.push(name);
        if let Some(spec) = services.get(name) {
            for dep in spec.depends_on.keys() {
                let Some((dep_name, _)) = services.get_key_value(dep) else {
                    continue;
                };
                match marks
                    .get(dep_name.as_str())
                    .copied()
                    .unwrap_or(Mark::Unvisited)
                {
                    Mark::OnPath => {
                        let start = path
                            .iter()
                            .position(|n| *n == dep_name.as_str())
                            .unwrap_or(0);
                        let mut cycle: Vec<String> =
                            path[start..].iter().map(|s| s.to_string()).collect();
                        cycle.push(dep_name.clone());
                        return Some(cycle);
                    }
                    Mark::Unvisited => {
                        if let Some(cycle) = visit(dep_name, services, marks, path) {
                            return Some(cycle);
                        }
                    }
                    Mark::Done => {}
                }
            }
        }
        path.pop();
        marks.insert(name, Mark::Done);
        None
    }
    let mut marks: HashMap<&str, Mark> = HashMap::with_capacity(services.len());
    let mut path = Vec::new();
    for name in services.keys() {
        if marks.get(name.as_str()).copied().unwrap_or(Mark::Unvisited) == Mark::Unvisited {
            if let Some(cycle) = visit(name, services, &mut marks, &mut path) {
                return Some(cycle);
            }
        }
    }
    None
}

/// `web -> api -> web`, for error messages.
pub fn format_cycle(cycle: &[String]) -> String {
    cycle.join(" -> ")
}

/// Layers of action ids: every action of a wave depends only on actions of earlier waves. No-op actions are
/// left out, and dependencies on them (or on unknown ids) are ignored. Should the actions contain a
/// dependency cycle (validation rejects those, so only a bug could cause one), the actions caught in it
/// form one last wave rather than vanishing from the plan.
pub fn waves(actions: &[Action]) -> Vec<Vec<usize>> {
    let mut graph: DiGraph<usize, ()> = DiGraph::with_capacity(actions.len(), actions.len());
    let mut index: HashMap<usize, NodeIndex> = HashMap::with_capacity(actions.len());
    for action in actions.iter().filter(|a| a.op != Op::NoOp) {
        index.insert(action.id, graph.add_node(action.id));
    }
    for action in actions.iter().filter(|a| a.op != Op::NoOp) {
        let to = index[&action.id];
        for dep in &action.depends_on {
            if let Some(&from) = index.get(dep) {
                if from != to {
                    graph.update_edge(from, to, ());
                }
            }
        }
    }
    let mut pending: Vec<usize> = graph
        .node_indices()
        .map(|n| graph.neighbors_directed(n, Direction::Incoming).count())
        .collect();
    let mut frontier: Vec<NodeIndex> = graph
        .node_indices()
        .filter(|n| pending[n.index()] == 0)
        .collect();
    let mut placed = 0;
    let mut layers = Vec::new();
    while !frontier.is_empty() {
        let mut next = Vec::new();
        let mut wave: Vec<usize> = Vec::with_capacity(frontier.len());
        for node in frontier {
            wave.push(graph[node]);
            for dependent in graph.neighbors_directed(node, Direction::Outgoing) {
                pending[dependent.index()] -= 1;
                if pending[dependent.index()] == 0 {
                    next.push(dependent);
                }
            }
        }
        placed += wave.len();
        wave.sort_unstable();
        layers.push(wave);
        frontier = next;
    }
    if placed < graph.node_count() {
        let mut stuck: Vec<usize> = graph
            .node_indices()
            .filter(|n| pending[n.index()] > 0)
            .map(|n| graph[n])
            .collect();
        stuck.sort_unstable();
        layers.push(stuck);
    }
    layers
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed assertion
mod tests {
    use super::*;
    use crate::model::{DependsCondition, DependsOn};

    fn services(edges: &[(&str, &[&str])]) -> BTreeMap<String, ServiceSpec> {
        edges
            .iter()
            .map(|(name, deps)| {
                let spec = ServiceSpec {
                    depends_on: deps
                        .iter()
                        .map(|d| {
                            (
                                d.to_string(),
                                DependsOn {
                                    condition: DependsCondition::ServiceStarted,
                                    required: true,
                                    restart: false,
                                },
                            )
                        })
                        .collect(),
                    ..ServiceSpec::default()
                };
                (name.to_string(), spec)
            })
            .collect()
    }

    #[test]
    fn names_the_cycle() {
        let s = services(&[("web", &["api"]), ("api", &["web"]), ("db", &[])]);
        assert_eq!(
            format_cycle(&find_service_cycle(&s).unwrap()),
            "api -> web -> api"
        );
        let s = services(&[("a", &["b"]), ("b", &["c"]), ("c", &["b"])]);
        assert_eq!(
            format_cycle(&find_service_cycle(&s).unwrap()),
            "b -> c -> b"
        );
        let s = services(&[("a", &["a"])]);
        assert_eq!(format_cycle(&find_service_cycle(&s).unwrap()), "a -> a");
    }

    #[test]
    fn no_cycle_in_a_diamond() {
        let s = services(&[
            ("a", &["b", "c"]),
            ("b", &["d"]),
            ("c", &["d"]),
            ("d", &[]),
            ("e", &["missing"]),
        ]);
        assert_eq!(find_service_cycle(&s), None);
    }
}
