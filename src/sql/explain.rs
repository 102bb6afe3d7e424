//! EXPLAIN: the plan as text lines, the coordinator's part first, then each shard
//! fragment.

use super::aggregate::AggSpec;
use super::expr::Expr;
use super::plan::{CoordPlan, Fragment, FragmentOutput, JoinKind, Output, SelectPlan, SortKey};

fn list(exprs: &[Expr], names: &[String]) -> String {
    exprs
        .iter()
        .map(|e| e.display(names).to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn aggs(specs: &[AggSpec], names: &[String]) -> Vec<String> {
    specs
        .iter()
        .map(|a| {
            let arg = match &a.arg {
                None => "*".to_string(),
                Some(e) => e.display(names).to_string(),
            };
            let d = if a.distinct { "DISTINCT " } else { "" };
            format!("{}({d}{arg})", a.name())
        })
        .collect()
}

fn sort(keys: &[SortKey], names: &[String]) -> String {
    keys.iter()
        .map(|k| {
            let n = names
                .get(k.column)
                .cloned()
                .unwrap_or_else(|| format!("#{}", k.column));
            let dir = if k.desc { "DESC" } else { "ASC" };
            let nulls = if k.nulls_first {
                "NULLS FIRST"
            } else {
                "NULLS LAST"
            };
            format!("{n} {dir} {nulls}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn output_lines(out: &Output, project_names: &[String], lines: &mut Vec<String>) {
    if out.distinct {
        lines.push("  Distinct".into());
    }
    if !out.order.is_empty() {
        lines.push(format!("  Sort: {}", sort(&out.order, project_names)));
    }
    if out.limit.is_some() || out.offset > 0 {
        let l = out.limit.map_or("ALL".to_string(), |l| l.to_string());
        lines.push(format!("  Limit: {l} Offset: {}", out.offset));
    }
    lines.push(format!("  Output: {}", out.names.join(", ")));
}

/// `looked_up`: the fragment reads the rows a lookup join names instead of scanning.
fn fragment_lines(f: &Fragment, nshards: usize, looked_up: bool, lines: &mut Vec<String>) {
    let names: Vec<String> = f
        .columns
        .iter()
        .map(|c| {
            if c.whole {
                "*".to_string()
            } else {
                c.name.clone()
            }
        })
        .collect();
    let on = match &f.key {
        Some(k) => format!("the shard of key {}", String::from_utf8_lossy(k)),
        None if looked_up => "the shards of the joined keys".to_string(),
        None => format!("each of {nshards} shards"),
    };
    lines.push(format!("Shard fragment (on {on}):"));
    match &f.key {
        Some(k) => lines.push(format!("  Key lookup: {}", String::from_utf8_lossy(k))),
        None if looked_up => lines.push(format!(
            "  Key lookup: {}:<joined key> reading {}",
            f.table,
            names.join(", ")
        )),
        None => lines.push(format!(
            "  Scan: {}:* reading {}",
            f.table,
            names.join(", ")
        )),
    }
    if let Some(filter) = &f.filter {
        lines.push(format!("  Filter: {}", filter.display(&names)));
    }
    match &f.output {
        FragmentOutput::Rows {
            exprs,
            distinct_width,
            order,
            top,
        } => {
            lines.push(format!("  Project: {}", list(exprs, &names)));
            if distinct_width.is_some() {
                lines.push("  Distinct".into());
            }
            let projected: Vec<String> = exprs
                .iter()
                .map(|e| e.display(&names).to_string())
                .collect();
            match (top, order.is_empty()) {
                (Some(n), false) => {
                    lines.push(format!("  Top-N: {n} by {}", sort(order, &projected)))
                }
                (Some(n), true) => lines.push(format!("  Limit: {n}")),
                _ => {}
            }
        }
        FragmentOutput::Groups { keys, aggs: a } => {
            let mut line = "  Partial aggregate:".to_string();
            if !keys.is_empty() {
                line.push_str(&format!(" group by {};", list(keys, &names)));
            }
            line.push_str(&format!(" {}", aggs(a, &names).join(", ")));
            lines.push(line);
        }
    }
}

/// The plan's text.
pub fn explain(plan: &SelectPlan, nshards: usize) -> Vec<String> {
    let mut lines = Vec::new();
    // Names of the coordinator's input tuple: each source's columns, qualified.
    let mut joined: Vec<String> = Vec::new();
    for s in &plan.sources {
        for c in &s.columns {
            joined.push(if c.whole {
                format!("{}.*", s.alias)
            } else {
                format!("{}.{}", s.alias, c.name)
            });
        }
    }
    let agg_names = |keys: &[Expr], specs: &[AggSpec], input: &[String]| -> Vec<String> {
        let mut n: Vec<String> = keys.iter().map(|k| k.display(input).to_string()).collect();
        n.extend(aggs(specs, input));
        n
    };
    let project_names = |project: &[Expr], input: &[String]| -> Vec<String> {
        project
            .iter()
            .map(|e| e.display(input).to_string())
            .collect()
    };
    match &plan.coord {
        CoordPlan::Merge => {
            lines.push("Coordinator: merge the shards' rows".into());
            let names = match plan.fragments[0].output {
                FragmentOutput::Rows { ref exprs, .. } => {
                    let scan: Vec<String> = plan.fragments[0]
                        .columns
                        .iter()
                        .map(|c| c.name.clone())
                        .collect();
                    project_names(exprs, &scan)
                }
                _ => Vec::new(),
            };
            output_lines(&plan.output, &names, &mut lines);
        }
        CoordPlan::Aggregate {
            aggs: specs,
            having,
            project,
            ..
        } => {
            let scan: Vec<String> = plan.fragments[0]
                .columns
                .iter()
                .map(|c| c.name.clone())
                .collect();
            let keys = match &plan.fragments[0].output {
                FragmentOutput::Groups { keys, .. } => keys.clone(),
                _ => Vec::new(),
            };
            let post = agg_names(&keys, specs, &scan);
            lines.push("Coordinator: merge partial aggregates".into());
            lines.push(format!("  Final aggregate: {}", post.join(", ")));
            if let Some(h) = having {
                lines.push(format!("  Having: {}", h.display(&post)));
            }
            output_lines(&plan.output, &project_names(project, &post), &mut lines);
        }
        CoordPlan::Join {
            joins,
            filter,
            aggregate,
            having,
            project,
        } => {
            lines.push("Coordinator: join the tables' rows".into());
            let mut offset = plan.sources.first().map_or(0, |s| s.columns.len());
            for (j, join) in joins.iter().enumerate() {
                let right = &plan.sources[j + 1];
                let right_names: Vec<String> =
                    joined[offset..offset + right.columns.len()].to_vec();
                offset += right.columns.len();
                let kind = match join.kind {
                    JoinKind::Inner => "inner",
                    JoinKind::Left => "left",
                };
                if join.left_keys.is_empty() {
                    lines.push(format!("  Nested loop join ({kind}) with {}", right.alias));
                } else {
                    let on: Vec<String> = join
                        .left_keys
                        .iter()
                        .zip(&join.right_keys)
                        .map(|(l, r)| {
                            format!("{} = {}", l.display(&joined), r.display(&right_names))
                        })
                        .collect();
                    let how = match join.lookup {
                        Some(_) => "Lookup join",
                        None => "Hash join",
                    };
                    lines.push(format!(
                        "  {how} ({kind}) with {} on {}",
                        right.alias,
                        on.join(" AND ")
                    ));
                }
                for c in &join.condition {
                    lines.push(format!("    Join filter: {}", c.display(&joined)));
                }
            }
            if let Some(f) = filter {
                lines.push(format!("  Filter: {}", f.display(&joined)));
            }
            let input = match aggregate {
                Some((keys, specs)) => {
                    let post = agg_names(keys, specs, &joined);
                    lines.push(format!("  Aggregate: {}", post.join(", ")));
                    post
                }
                None => joined.clone(),
            };
            if let Some(h) = having {
                lines.push(format!("  Having: {}", h.display(&input)));
            }
            output_lines(&plan.output, &project_names(project, &input), &mut lines);
        }
        CoordPlan::Values {
            filter,
            aggregate,
            having,
            project,
        } => {
            lines.push("Coordinator: one row, no table".into());
            if let Some(f) = filter {
                lines.push(format!("  Filter: {}", f.display(&[])));
            }
            let input = match aggregate {
                Some((keys, specs)) => agg_names(keys, specs, &[]),
                None => Vec::new(),
            };
            if let Some(h) = having {
                lines.push(format!("  Having: {}", h.display(&input)));
            }
            output_lines(&plan.output, &project_names(project, &input), &mut lines);
        }
    }
    for (s, f) in plan.fragments.iter().enumerate() {
        fragment_lines(f, nshards, plan.looked_up(s), &mut lines);
    }
    lines
}
