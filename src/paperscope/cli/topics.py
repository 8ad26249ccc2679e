"""`paperscope topics`: build the topic map, or show the stored one."""

from __future__ import annotations

import json

import click

from paperscope.cli.context import AppContext


@click.command()
@click.option("--json", "as_json", is_flag=True,
              help="Print the map as JSON: its broad areas (id, label, keywords, topic_ids, ...), topics (id, "
                   "label, keywords, size, representative_ids, ...), every paper's topic id (null for an outlier) "
                   "and the number of outliers.")
@click.option("--rebuild", is_flag=True, help="Build the map again from every stored vector (topic ids are kept "
              "where a topic is still there).")
@click.option("--balanced", is_flag=True, help="With --rebuild (or a first build): topics of equal size "
              "(Sinkhorn-Knopp), e.g. for reading groups or shards.")
@click.option("--explain", "goal", metavar="GOAL", help='With --rebuild (or a first build): ask the LLM at '
              'PAPERSCOPE_TOPICS_LLM_URL to explain the topics for a goal, e.g. "group by method".')
@click.option("--k", "n_topics", type=click.IntRange(1, 1000), help="With --rebuild (or a first build): this many "
              "topics instead of the number the method chooses.")
@click.option("--no-assignments", is_flag=True, help="Leave the per-paper assignments out of --json.")
@click.pass_obj
def topics(app: AppContext, as_json: bool, rebuild: bool, balanced: bool, goal: str | None, n_topics: int | None,
           no_assignments: bool) -> None:
    """Build the topic map, or show the stored one.

    The first run (and --rebuild) clusters every embedded paper; the number of topics is chosen by the
    method itself, and neighbouring topics are merged into a few broad areas. Later runs show the stored
    map, after placing papers embedded since into its topics.
    """
    from paperscope.errors import require_extra

    require_extra("sklearn", "topics", "The topic map")
    from paperscope.topics.build import assign_new, build_map, embedding_model_name, map_json

    with app.store() as store:
        model_name = embedding_model_name(app.settings)
        current = store.topics.current_map()
        if rebuild or current is None or current.model != model_name:
            report = build_map(store, app.settings, model_name=model_name, balanced=balanced, n_topics=n_topics,
                               explain_goal=goal, progress=lambda message: click.echo(message, err=True))
            click.echo(f"built {report.map.n_topics} topics from {report.map.n_papers} papers in "
                       f"{sum(report.seconds.values()):.1f} s (ids kept {report.kept_ids}, new {report.new_ids}, "
                       f"retired {report.retired_ids}, emerging {len(report.emerging)})", err=True)
        else:
            added = assign_new(store, model_name=model_name)
            if added:
                click.echo(f"placed {added} new papers into the existing topics", err=True)
        data = map_json(store, with_assignments=not no_assignments)
        titles = {pid: paper.title for pid, paper in store.get_papers(
            [pid for topic in data["topics"] for pid in topic["representative_ids"][:3]]).items()}
    if as_json:
        click.echo(json.dumps(data))
        return
    info = data["map"]
    click.echo(f"{info['topics']} topics over {info['papers']} papers (built {info['built_at'][:16]}, "
               f"{info['model']}); outliers: {data['outliers']}")
    for area in data["areas"]:
        click.echo(f"area {area['id']}: {area['label']}  ({area['size']} papers; topics "
                   f"{', '.join(f'#{t}' for t in area['topic_ids'])})")
    for topic in data["topics"]:
        flag = f"  [emerging since {topic['emerged_at']}]" if topic["emerging"] else ""
        click.echo(f"\n#{topic['id']}  {topic['label']}  ({topic['size']} papers, cohesion {topic['cohesion']:.2f})"
                   f"{flag}")
        click.echo(f"     keywords: {', '.join(topic['keywords'])}")
        if topic["description"]:
            click.echo(f"     {topic['description']}")
        for paper_id in topic["representative_ids"][:3]:
            click.echo(f"     - [{paper_id}] {titles.get(paper_id, '')}")
