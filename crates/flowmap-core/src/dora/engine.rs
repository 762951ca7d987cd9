//! [`compute`]: the one pass over the events that every DORA number comes from.

use foldhash::{HashMap, HashMapExt};

use jiff::Timestamp;

use crate::events::{Change, Incident};

use super::assemble::{Facts, FirstNote, Window};
use super::calendar::{NANOS_PER_DAY, WeekGrid, utc_day, weekday_of_day};
use super::failures::{self, Cause, Failures, FixIgnored, Recovery, Unattributed};
use super::linking::{self, Links};
use super::quick_check::QuickCheckBenchmark;
use super::report::{
    ChangeEvidence, DeploymentEvidence, DoraReport, Explain, FailedDeployment, FailedRun,
    FailureReason, FirstDeployment, IgnoredFix, NegativeLeadTime, OrphanChange, ServiceMetrics,
    UnattributedIncident, UnknownChange, UnrecoveredFailure,
};
use super::scope::{NONE, Scope, dedup};
use super::{DoraError, DoraInput, DoraOptions, levels, quick_check};

/// Computes the DORA report for `options` from `input`.
///
/// Linear in the size of the input, in wall time as well as in steps: partitioned hash
/// joins for the links, counting sorts, and selection for the percentiles. See
/// `docs/performance.md` for measured numbers.
///
/// # Errors
///
/// When the options contradict themselves: a window bound outside the years 1900–2999,
/// an empty or inverted window, a negative
/// attribution window, no environment, or an unknown Quick Check benchmark. Bad or odd
/// data is never an error: it is counted, explained and left out where it would distort.
pub fn compute(input: &DoraInput<'_>, options: &DoraOptions) -> Result<DoraReport, DoraError> {
    let (window, benchmark) = check(options)?;
    let counted = count(input, options, &window);
    Ok(assemble(options, &window, benchmark, counted))
}

/// A report over every service, computed one group of services at a time.
///
/// Services never share records: a change ships through, and an incident fails, only a
/// deployment of its own service. So the facts counted from a group that holds *every*
/// record of its services are exactly the facts [`compute`] counts for those services from
/// all the data, and a report over a whole organisation can be computed group by group,
/// holding one group's records at a time. [`GroupedReport::finish`] gives the report
/// [`compute`] would give for all the groups' records together, number for number.
///
/// ```
/// use flowmap_core::dora::{DoraInput, DoraOptions, GroupedReport, compute};
/// use flowmap_core::events::Deployment;
///
/// let options = DoraOptions::new(
///     "2026-01-01T00:00:00Z".parse().unwrap(),
///     "2026-02-01T00:00:00Z".parse().unwrap(),
/// );
/// let shop = [Deployment::new("d1", "shop", "2026-01-05T10:00:00Z".parse().unwrap())];
/// let search = [Deployment::new("d1", "search", "2026-01-06T10:00:00Z".parse().unwrap())];
///
/// let mut grouped = GroupedReport::new(&options).unwrap();
/// for group in [&shop, &search] {
///     grouped.add(&DoraInput { deployments: group, changes: &[], incidents: &[] });
/// }
/// let all = [shop[0].clone(), search[0].clone()];
/// let whole = compute(&DoraInput { deployments: &all, changes: &[], incidents: &[] }, &options);
/// assert_eq!(grouped.finish(), whole.unwrap());
/// ```
#[derive(Debug)]
pub struct GroupedReport {
    options: DoraOptions,
    window: Window,
    benchmark: QuickCheckBenchmark,
    services: Vec<(String, Facts)>,
}

impl GroupedReport {
    /// Starts a report with `options`, which must choose no services (the groups decide
    /// which services there are) and ask for no evidence.
    ///
    /// # Errors
    ///
    /// As [`compute`], and when `options` choose services or ask for evidence.
    pub fn new(options: &DoraOptions) -> Result<GroupedReport, DoraError> {
        if !options.services.is_empty() || options.explain {
            return Err(DoraError::NotGroupable);
        }
        let (window, benchmark) = check(options)?;
        Ok(GroupedReport {
            options: options.clone(),
            window,
            benchmark,
            services: Vec::new(),
        })
    }

    /// Counts one group: every record of some services that no earlier group held.
    pub fn add(&mut self, group: &DoraInput<'_>) {
        let counted = count(group, &self.options, &self.window);
        self.services.extend(counted.services);
    }

    /// The report over every group added.
    pub fn finish(mut self) -> DoraReport {
        self.services.sort_by(|a, b| a.0.cmp(&b.0));
        let counted = Counted {
            services: self.services,
            explain: None,
        };
        assemble(&self.options, &self.window, self.benchmark, counted)
    }
}

/// Checks `options` and lays out their window.
fn check(options: &DoraOptions) -> Result<(Window, QuickCheckBenchmark), DoraError> {
    super::check_window_bound(options.since)?;
    super::check_window_bound(options.until)?;
    if options.since >= options.until {
        return Err(DoraError::EmptyWindow {
            since: options.since,
            until: options.until,
        });
    }
    if options.attribution_window.is_negative() {
        return Err(DoraError::NegativeAttributionWindow(
            options.attribution_window,
        ));
    }
    if options.environments.is_empty() {
        return Err(DoraError::NoEnvironment);
    }
    let benchmark = quick_check::benchmark(&options.quick_check)?;
    let window = Window {
        since: options.since,
        until: options.until,
        days: options.until.duration_since(options.since).as_nanos() as f64 / NANOS_PER_DAY,
        grid: WeekGrid::new(options.since, options.until),
    };
    Ok((window, benchmark))
}

/// What one pass over the events counted.
struct Counted {
    /// Each service's facts, in report order.
    services: Vec<(String, Facts)>,
    explain: Option<Explain>,
}

/// The one pass over the events.
fn count(input: &DoraInput<'_>, options: &DoraOptions, window: &Window) -> Counted {
    let mut scope = Scope::new(input, options, window);
    let links = linking::link(&mut scope, input);
    let failures = failures::attribute(&scope, input.incidents, options.attribution_window);

    let mut pass = Pass {
        scope: &scope,
        window,
        input,
        facts: (0..scope.services().len())
            .map(|s| Facts::new(window.grid.len(), scope.has_events[s]))
            .collect(),
        explain: options.explain.then(Explain::default),
        dep_changes: Vec::new(),
    };
    pass.deployments(&failures);
    pass.changes(&links);
    pass.anomalies(&links, &failures);
    if let Some(explain) = pass.explain.as_mut() {
        sort_explain(explain);
    }
    let names = scope.services();
    let mut by_number = pass.facts;
    let services = scope
        .report_order()
        .iter()
        .map(|&s| {
            (
                names[s as usize].to_owned(),
                std::mem::take(&mut by_number[s as usize]),
            )
        })
        .collect();
    Counted {
        services,
        explain: pass.explain,
    }
}

/// The report of the counted facts.
fn assemble(
    options: &DoraOptions,
    window: &Window,
    quick_check_benchmark: QuickCheckBenchmark,
    counted: Counted,
) -> DoraReport {
    let edition = options.quick_check.edition;
    let environments: Vec<String> = dedup(options.environments.iter().map(String::as_str))
        .into_iter()
        .map(str::to_owned)
        .collect();
    let (service, metrics, services) = if options.services.len() == 1 {
        let (name, facts) = &counted.services[0];
        (Some(name.clone()), facts.metrics(window, edition), None)
    } else {
        let per_service: Vec<ServiceMetrics> = counted
            .services
            .iter()
            .map(|(name, facts)| ServiceMetrics {
                service: name.clone(),
                metrics: facts.metrics(window, edition),
            })
            .collect();
        let facts: Vec<Facts> = counted.services.into_iter().map(|(_, f)| f).collect();
        let pooled = Facts::pooled(&facts, window.grid.len()).metrics(window, edition);
        (None, pooled, Some(per_service))
    };

    DoraReport {
        service,
        environment: environments.join(","),
        environments,
        since: options.since,
        until: options.until,
        attribution_window_hours: options.attribution_window.as_secs_f64() / 3600.0,
        levels_benchmark: levels::BENCHMARK.to_owned(),
        metrics,
        services,
        quick_check_benchmark,
        explain: counted.explain,
    }
}

/// The state of the counting pass.
struct Pass<'s, 'a> {
    scope: &'s Scope<'a>,
    window: &'s Window,
    input: &'s DoraInput<'a>,
    facts: Vec<Facts>,
    explain: Option<Explain>,
    /// Per deployment position: changes counted through it (only with explain).
    dep_changes: Vec<u64>,
}

impl Pass<'_, '_> {
    fn deployments(&mut self, failures: &Failures) {
        let scope = self.scope;
        for (pos, dep) in scope.deps.iter().enumerate() {
            let slot = dep.slot;
            if slot == NONE {
                continue;
            }
            let facts = &mut self.facts[dep.service as usize];
            let week = &mut facts.weeks[slot as usize];
            facts.deployments += 1;
            week.deployments += 1;
            week.days |= 1 << weekday_of_day(utc_day(dep.d.finished_at));
            if dep.d.kind.is_rework() {
                facts.rework += 1;
                week.rework += 1;
            }
            let causes = &failures.causes[pos];
            if causes.is_empty() {
                continue;
            }
            facts.failed += 1;
            week.failed += 1;
            let recovery = failures::recovery(dep, causes, self.input.incidents, &scope.deps);
            match &recovery {
                Recovery::Recovered { hours, .. } => {
                    facts.recovered += 1;
                    facts.recovery.push((*hours, slot));
                }
                Recovery::Anomalous { .. } => {
                    facts.recovered += 1;
                    facts.anomalous_recoveries += 1;
                }
                Recovery::Open { .. } => {}
            }
            if let Some(explain) = self.explain.as_mut() {
                explain_failure(explain, scope, self.input, pos, causes, &recovery);
            }
        }
    }

    fn changes(&mut self, links: &Links) {
        let scope = self.scope;
        let window = self.window;
        let changes = self.input.changes;
        let n_env = scope.envs.len();
        if self.explain.is_some() {
            self.dep_changes = vec![0; scope.deps.len()];
        }
        // First deployment of a timeline in the window → (changes, earliest commit).
        let mut firsts: HashMap<u32, (u64, Option<Timestamp>, Option<f64>)> = HashMap::new();

        for (ci, change) in changes.iter().enumerate() {
            let service = links.change_service[ci];
            if service == NONE {
                continue;
            }
            let mut linked = false;
            for env in 0..n_env {
                let Some(pos) = links.shipped(ci, env) else {
                    continue;
                };
                linked = true;
                let dep = &scope.deps[pos as usize];
                let slot = dep.slot;
                if slot == NONE {
                    continue;
                }
                let took = dep.finished_at.duration_since(change.committed_at);
                let hours = took.as_secs_f64() / 3600.0;
                let facts = &mut self.facts[service as usize];
                if took.is_negative() {
                    facts.negative += 1;
                    if let Some(explain) = self.explain.as_mut() {
                        explain.negative_lead_times.push(NegativeLeadTime {
                            change: change.id.clone(),
                            service: change.service.clone(),
                            environment: scope.envs[env].to_owned(),
                            deployment: dep.d.id.clone(),
                            committed_at: change.committed_at,
                            deployed_at: dep.d.finished_at,
                            lead_time_hours: hours,
                        });
                    }
                    continue;
                }
                facts.lead.push((hours, slot));
                if dep.first {
                    let first = firsts.entry(pos).or_default();
                    first.0 += 1;
                    first.1 = Some(
                        first
                            .1
                            .map_or(change.committed_at, |t| t.min(change.committed_at)),
                    );
                    first.2 = Some(first.2.map_or(hours, |h| h.max(hours)));
                }
                if let Some(explain) = self.explain.as_mut() {
                    self.dep_changes[pos as usize] += 1;
                    explain.changes.push(ChangeEvidence {
                        change: change.id.clone(),
                        service: change.service.clone(),
                        environment: scope.envs[env].to_owned(),
                        deployment: dep.d.id.clone(),
                        committed_at: change.committed_at,
                        deployed_at: dep.d.finished_at,
                        lead_time_hours: hours,
                    });
                }
            }
            if !linked && window.contains(change.committed_at) {
                self.facts[service as usize].orphans += 1;
                if let Some(explain) = self.explain.as_mut() {
                    explain.orphan_changes.push(OrphanChange {
                        change: change.id.clone(),
                        service: change.service.clone(),
                        committed_at: change.committed_at,
                        reason: orphan_reason(scope, service, change),
                    });
                }
            }
        }

        let mut firsts: Vec<_> = firsts.into_iter().collect();
        firsts.sort_unstable_by_key(|(pos, _)| *pos);
        for (pos, (changes, earliest, longest)) in firsts {
            let dep = &scope.deps[pos as usize];
            let environment = scope.envs[dep.env as usize].to_owned();
            self.facts[dep.service as usize]
                .first_deployments
                .push(FirstNote {
                    deployment: dep.d.id.clone(),
                    service: dep.d.service.clone(),
                    environment: environment.clone(),
                    changes,
                    earliest_committed_at: earliest,
                });
            if let Some(explain) = self.explain.as_mut() {
                explain.first_deployments.push(FirstDeployment {
                    deployment: dep.d.id.clone(),
                    service: dep.d.service.clone(),
                    environment,
                    finished_at: dep.d.finished_at,
                    changes,
                    earliest_committed_at: earliest,
                    longest_lead_time_hours: longest,
                });
            }
        }
    }

    /// Failed runs, unknown listed changes, unattributed incidents, ignored fixes, and the
    /// list of counted deployments.
    fn anomalies(&mut self, links: &Links, failures: &Failures) {
        let scope = self.scope;
        let window = self.window;

        for run in &scope.runs {
            if !window.contains(run.d.finished_at) {
                continue;
            }
            self.facts[run.service as usize].failed_runs += 1;
            if let Some(explain) = self.explain.as_mut() {
                explain.failed_runs.push(FailedRun {
                    deployment: run.d.id.clone(),
                    service: run.d.service.clone(),
                    environment: run.d.environment.clone(),
                    finished_at: run.d.finished_at,
                    kind: run.d.kind,
                });
            }
        }

        for &(pos, id) in &links.unknown_listed {
            if !scope.deps[pos as usize].in_window() {
                continue;
            }
            let dep = &scope.deps[pos as usize];
            self.facts[dep.service as usize].unknown_listed += 1;
            if let Some(explain) = self.explain.as_mut() {
                explain.unknown_changes.push(UnknownChange {
                    change: id.to_owned(),
                    service: dep.d.service.clone(),
                    deployment: dep.d.id.clone(),
                });
            }
        }

        for (ii, reason) in &failures.unattributed {
            let incident = &self.input.incidents[*ii as usize];
            if !window.contains(incident.started_at) {
                continue;
            }
            let service = scope.incident_service[*ii as usize];
            self.facts[service as usize].unattributed += 1;
            if let Some(explain) = self.explain.as_mut() {
                explain.unattributed_incidents.push(UnattributedIncident {
                    incident: incident.id.clone(),
                    service: incident.service.clone(),
                    started_at: incident.started_at,
                    reason: unattributed_reason(scope, service, incident, reason),
                });
            }
        }

        for (pos, why) in &failures.ignored_fixes {
            if !scope.deps[*pos as usize].in_window() {
                continue;
            }
            let dep = &scope.deps[*pos as usize];
            self.facts[dep.service as usize].ignored_fixes += 1;
            if let Some(explain) = self.explain.as_mut() {
                let fixes = dep.d.fixes.clone().unwrap_or_default();
                let reason = match why {
                    FixIgnored::NotRework => "a normal deployment; only hotfix and rollback \
                                              deployments mark the deployment they fix as failed"
                        .to_owned(),
                    FixIgnored::Unknown => format!(
                        "names {fixes}, which is not a successful deployment of {} in the \
                         chosen environments",
                        dep.d.service
                    ),
                    FixIgnored::NotLater => {
                        format!("names {fixes}, which did not finish before this deployment")
                    }
                };
                explain.ignored_fixes.push(IgnoredFix {
                    deployment: dep.d.id.clone(),
                    service: dep.d.service.clone(),
                    environment: dep.d.environment.clone(),
                    fixes,
                    reason,
                });
            }
        }

        if let Some(explain) = self.explain.as_mut() {
            for (pos, dep) in scope.deps.iter().enumerate() {
                if dep.in_window() {
                    explain.deployments.push(DeploymentEvidence {
                        deployment: dep.d.id.clone(),
                        service: dep.d.service.clone(),
                        environment: dep.d.environment.clone(),
                        finished_at: dep.d.finished_at,
                        kind: dep.d.kind,
                        changes: self.dep_changes[pos],
                        failed: !failures.causes[pos].is_empty(),
                    });
                }
            }
        }
    }
}

fn explain_failure(
    explain: &mut Explain,
    scope: &Scope,
    input: &DoraInput,
    pos: usize,
    causes: &[Cause],
    recovery: &Recovery,
) {
    let dep = &scope.deps[pos];
    let incidents = input.incidents;
    let reasons = causes
        .iter()
        .map(|cause| match *cause {
            Cause::CausedBy(i) => FailureReason::CausedBy {
                incident: incidents[i as usize].id.clone(),
            },
            Cause::InWindow { incident, after } => FailureReason::IncidentInWindow {
                incident: incidents[incident as usize].id.clone(),
                hours_after_deployment: after.as_secs_f64() / 3600.0,
            },
            Cause::FixedBy(p) => {
                let fix = scope.deps[p as usize].d;
                FailureReason::FixedBy {
                    deployment: fix.id.clone(),
                    kind: fix.kind,
                }
            }
        })
        .collect();
    let (recovered, recovered_at, recovery_hours, anomaly) = match recovery {
        Recovery::Recovered { at, hours } => (true, Some(*at), Some(*hours), None),
        Recovery::Anomalous { at } => (
            true,
            Some(*at),
            None,
            Some(format!(
                "its incidents were resolved at {at}, before the deployment finished"
            )),
        ),
        Recovery::Open { .. } => (false, None, None, None),
    };
    let environment = scope.envs[dep.env as usize].to_owned();
    if let Recovery::Open { open } = recovery {
        let open_incidents: Vec<String> = open
            .iter()
            .map(|&i| incidents[i as usize].id.clone())
            .collect();
        let reason = if open_incidents.is_empty() {
            "neither an incident resolution nor a fix deployment says it ended".to_owned()
        } else {
            format!(
                "unresolved incident{}: {}",
                if open_incidents.len() == 1 { "" } else { "s" },
                open_incidents.join(", ")
            )
        };
        explain.unrecovered_failures.push(UnrecoveredFailure {
            deployment: dep.d.id.clone(),
            service: dep.d.service.clone(),
            environment: environment.clone(),
            finished_at: dep.d.finished_at,
            reason,
            open_incidents,
        });
    }
    explain.failed_deployments.push(FailedDeployment {
        deployment: dep.d.id.clone(),
        service: dep.d.service.clone(),
        environment,
        finished_at: dep.d.finished_at,
        kind: dep.d.kind,
        reasons,
        recovered,
        recovered_at,
        recovery_hours,
        anomaly,
    });
}

fn orphan_reason(scope: &Scope, service: u32, change: &Change) -> String {
    match change.deployment.as_deref() {
        None => format!(
            "no successful deployment of {} in the chosen environments lists it",
            change.service
        ),
        Some(id) => match scope.failed_run(service, id) {
            Some(_) => format!(
                "names deployment {id}, a failed deploy run; no successful deployment ships it"
            ),
            None => format!(
                "names deployment {id}, which is not a successful deployment of {} in the \
                 chosen environments, and no such deployment lists it",
                change.service
            ),
        },
    }
}

fn unattributed_reason(
    scope: &Scope,
    service: u32,
    incident: &Incident,
    reason: &Unattributed,
) -> String {
    match reason {
        Unattributed::CausedByUnknown(id) => match scope.failed_run(service, id) {
            Some(_) => format!(
                "caused_by names {id}, a failed deploy run: it never reached the \
                 environment, so it is not a failed deployment"
            ),
            None => format!(
                "caused_by names {id}, which is not a successful deployment of {} in the \
                 chosen environments",
                incident.service
            ),
        },
        Unattributed::NoDeploymentBefore => format!(
            "no deployment of {} in the chosen environments finished before it started",
            incident.service
        ),
        Unattributed::BeyondWindow { pos, after } => {
            let dep = &scope.deps[*pos as usize];
            format!(
                "the latest deployment before it, {}, finished {:.1} h earlier, outside \
                 the attribution window",
                dep.d.id,
                after.as_secs_f64() / 3600.0
            )
        }
    }
}

/// Evidence lists in a stable order: by service, then time, then id.
fn sort_explain(explain: &mut Explain) {
    explain.deployments.sort_by(|a, b| {
        (&a.service, a.finished_at, &a.deployment).cmp(&(&b.service, b.finished_at, &b.deployment))
    });
    explain.changes.sort_by(|a, b| {
        (&a.service, a.deployed_at, &a.change).cmp(&(&b.service, b.deployed_at, &b.change))
    });
    explain.failed_deployments.sort_by(|a, b| {
        (&a.service, a.finished_at, &a.deployment).cmp(&(&b.service, b.finished_at, &b.deployment))
    });
    explain.unrecovered_failures.sort_by(|a, b| {
        (&a.service, a.finished_at, &a.deployment).cmp(&(&b.service, b.finished_at, &b.deployment))
    });
    explain.failed_runs.sort_by(|a, b| {
        (&a.service, a.finished_at, &a.deployment).cmp(&(&b.service, b.finished_at, &b.deployment))
    });
    explain.negative_lead_times.sort_by(|a, b| {
        (&a.service, a.deployed_at, &a.change).cmp(&(&b.service, b.deployed_at, &b.change))
    });
    explain.orphan_changes.sort_by(|a, b| {
        (&a.service, a.committed_at, &a.change).cmp(&(&b.service, b.committed_at, &b.change))
    });
    explain.unknown_changes.sort_by(|a, b| {
        (&a.service, &a.deployment, &a.change).cmp(&(&b.service, &b.deployment, &b.change))
    });
    explain.unattributed_incidents.sort_by(|a, b| {
        (&a.service, a.started_at, &a.incident).cmp(&(&b.service, b.started_at, &b.incident))
    });
    explain.ignored_fixes.sort_by(|a, b| {
        (&a.service, &a.environment, &a.deployment).cmp(&(
            &b.service,
            &b.environment,
            &b.deployment,
        ))
    });
    explain.first_deployments.sort_by(|a, b| {
        (&a.service, &a.environment, a.finished_at).cmp(&(
            &b.service,
            &b.environment,
            b.finished_at,
        ))
    });
}
