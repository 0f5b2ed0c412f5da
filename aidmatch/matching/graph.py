"""The aggregated flow network (never pledge × need arcs).

Nodes, in this order: pledge classes (pledges with identical earmarks merged), sector hubs,
province hubs, (province, sector set) hubs, (sector, province) cells, organization nodes,
groups (an organization's needs in one cell), needs, provinces, the sink.
Arcs, by kind:

==================  =====================================================================
``CLASS_CELL``      a class earmarked to sectors *and* provinces → each cell it admits (or,
                    for several sectors, a (province, sector set) hub shared with others)
``CLASS_HUB``       a class earmarked to sectors only → each sector's hub; to provinces only
                    → each province's hub; unrestricted → every province hub
``HUB_CELL``        a sector hub → the cells of that sector; a province hub → its cells; a
                    (province, sector set) hub → the cells of those sectors in the province
``CELL_NEED``       a cell → each of its needs
``CLASS_ORG``       a class earmarked to an organization only → that organization's node
``ORG_NEED``        an organization node → each of its needs
``CLASS_NEED``      a class earmarked to one need → that need; a class that declined needs,
                    or earmarked to an organization and sectors or provinces → each need it
                    admits that has a node of its own (few)
``KEPT``            a class → a need it currently has proposals to: capacity = the proposed
                    amount, cost = −stability bonus (so proposals are kept exactly)
``NEED_PROVINCE``   a need → its province: capacity = the need's remaining amount, cost = −weight
``PROVINCE_SINK``   a province → the sink: one arc per fairness band (convex), or one free arc
``CELL_GROUP``      a cell → a group of its needs (one organization's)
``ORG_GROUP``       an organization node → each of its groups
``CLASS_GROUP``     a class earmarked to an organization and sectors or provinces → each group
                    of that organization it admits
``GROUP_NEED``      a group → the need's province, per need: capacity = the need's remaining
                    amount, cost = −weight (the need has no node of its own)
==================  =====================================================================

Built with numpy; Python loops only run once per class or per organization-earmarked class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aidmatch.matching.model import STABILITY_BONUS, fairness_bands
from aidmatch.matching.world import World, admits, exclusive_cumsum_by_group

(
    CLASS_CELL,
    CELL_NEED,
    CLASS_ORG,
    ORG_NEED,
    CLASS_NEED,
    KEPT,
    NEED_PROVINCE,
    PROVINCE_SINK,
    CLASS_HUB,
    HUB_CELL,
    CELL_GROUP,
    ORG_GROUP,
    CLASS_GROUP,
    GROUP_NEED,
) = range(14)


@dataclass(slots=True)
class Graph:
    n_classes: int
    n_cells: int
    n_orgs: int
    n_nodes: int
    pledge_class: np.ndarray  # int64 per pledge
    class_supply: np.ndarray  # int64 per class
    tails: np.ndarray  # int32
    heads: np.ndarray  # int32
    caps: np.ndarray  # int64
    costs: np.ndarray  # int64
    kinds: np.ndarray  # int8
    arc_class: np.ndarray  # int64: the class of an arc leaving a class, else -1
    arc_need: np.ndarray  # int64: the need of an arc entering a need, else -1
    need_node0: int
    province_node0: int
    sink: int
    # current proposals, sorted by (KEPT arc, pledge rank): pledge idx, need idx, amount, arc
    kept_pledge: np.ndarray
    kept_need: np.ndarray
    kept_amount: np.ndarray
    kept_arc: np.ndarray


def build(
    world: World,
    proposals: tuple[np.ndarray, np.ndarray, np.ndarray],
    *,
    fairness: bool,
    stability: bool,
    collapse: bool = True,
) -> Graph:
    n_needs = len(world.need_ids)
    n_sec, n_prov = len(world.sectors), len(world.provinces)

    s_ix = {s: i for i, s in enumerate(world.sectors)}
    p_ix = {p: i for i, p in enumerate(world.provinces)}
    n_org_all = len(world.organizations)

    # Classes: pledges with identical earmarks (``world.classes``, in canonical order).
    pledge_class = world.pledge_class
    uniq = world.classes
    n_classes = len(uniq)
    class_supply = np.zeros(n_classes, dtype=np.int64)
    np.add.at(class_supply, pledge_class, world.pledge_cap)

    # Cells that hold needs.
    need_cell_code = world.need_sector.astype(np.int64) * n_prov + world.need_province
    cell_codes, need_cell = np.unique(need_cell_code, return_inverse=True)
    n_cells = len(cell_codes)
    cell_of = np.full(max(n_sec * n_prov, 1), -1, dtype=np.int64)
    cell_of[cell_codes] = np.arange(n_cells)
    has_cell = (cell_of >= 0)[: n_sec * n_prov].reshape(n_sec, n_prov)

    needs_of_org_order = np.argsort(world.need_org, kind="stable")
    org_bounds = np.searchsorted(world.need_org[needs_of_org_order], np.arange(n_org_all + 1))

    plain: list[int] = []  # classes routed through cells
    set_ix: dict[tuple[int, ...], int] = {}  # sector sets of classes with ≥ 2 sectors
    set_c: list[int] = []  # (class, province, sector set) of those classes
    set_p: list[int] = []
    set_s: list[int] = []
    sec_rows: list[int] = []
    sec_cols: list[int] = []
    prov_rows: list[int] = []
    prov_cols: list[int] = []
    org_classes: list[int] = []  # class → organization node
    org_of_class: list[int] = []
    direct_c: list[int] = []  # class → need
    direct_n: list[int] = []
    hub_c: list[int] = []  # class → hub (sector hubs 0..n_sec-1, then province hubs)
    hub_h: list[int] = []
    org_sec: list[int] = []  # classes earmarked to an organization and sectors or provinces
    explicit_c: list[int] = []  # class → cell, for classes that declined a need
    explicit_cell: list[int] = []
    needs_of_cell_order = np.argsort(need_cell, kind="stable")
    cell_bounds = np.searchsorted(need_cell[needs_of_cell_order], np.arange(n_cells + 1))
    for c, key in enumerate(uniq):
        sectors, provinces, o, n, declined = key
        # Cells holding a need the donor declined: their other needs get direct arcs.
        avoid = {int(need_cell[d]) for d in declined}
        if n != -1:
            if n >= 0 and admits(world, key, int(n)):
                direct_c.append(c)
                direct_n.append(n)
        elif o != -1:
            if o < 0:
                continue
            if not sectors and not provinces and not avoid:
                org_classes.append(c)
                org_of_class.append(o)
            elif collapse and not avoid:
                org_sec.append(c)  # through its organization's groups, see below
            else:
                for n in needs_of_org_order[org_bounds[o] : org_bounds[o + 1]]:
                    if admits(world, key, int(n)):
                        direct_c.append(c)
                        direct_n.append(int(n))
        elif avoid:
            si = [s_ix[s] for s in sectors if s in s_ix] if sectors else range(n_sec)
            pi = [p_ix[p] for p in provinces if p in p_ix] if provinces else range(n_prov)
            for cell in sorted(int(cell_of[s * n_prov + p]) for s in si for p in pi):
                if cell < 0:
                    continue
                if cell not in avoid:
                    explicit_c.append(c)
                    explicit_cell.append(cell)
                    continue
                for n in needs_of_cell_order[cell_bounds[cell] : cell_bounds[cell + 1]]:
                    if admits(world, key, int(n)):
                        direct_c.append(c)
                        direct_n.append(int(n))
        elif not sectors or not provinces:
            if sectors:
                hubs = [s_ix[s] for s in sectors if s in s_ix]
            elif provinces:
                hubs = [n_sec + p_ix[p] for p in provinces if p in p_ix]
            else:
                hubs = range(n_sec, n_sec + n_prov)
            hubs = sorted(hubs)
            hub_c.extend([c] * len(hubs))
            hub_h.extend(hubs)
        else:
            si = [s_ix[s] for s in sectors if s in s_ix]
            pi = [p_ix[p] for p in provinces if p in p_ix]
            if len(si) >= 2:  # perhaps through (province, sector set) hubs, see below
                sid = set_ix.setdefault(tuple(si), len(set_ix))
                set_c.extend([c] * len(pi))
                set_p.extend(pi)
                set_s.extend([sid] * len(pi))
                continue
            row = len(plain)
            plain.append(c)
            sec_rows.extend([row] * len(si))
            sec_cols.extend(si)
            prov_rows.extend([row] * len(pi))
            prov_cols.extend(pi)

    # CLASS_CELL arcs: (class, sector) pairs × provinces the class admits that have a cell.
    prov_mat = np.zeros((len(plain), n_prov), dtype=bool)
    prov_mat[np.asarray(prov_rows, dtype=np.int64), np.asarray(prov_cols, dtype=np.int64)] = True
    pair_row = np.asarray(sec_rows, dtype=np.int64)
    pair_sec = np.asarray(sec_cols, dtype=np.int64)
    pair_order = np.lexsort((pair_sec, pair_row))
    pair_row, pair_sec = pair_row[pair_order], pair_sec[pair_order]
    hit_pair, hit_prov = np.nonzero(prov_mat[pair_row] & has_cell[pair_sec])
    # A class earmarked to several sectors and to provinces reaches (province, sector set)
    # hubs shared with other classes (one arc per province instead of one per cell), and
    # the cells directly where no other class shares the hub.
    set_members = [np.asarray(k, dtype=np.int64) for k in set_ix]
    set_size = np.asarray([len(k) for k in set_ix], dtype=np.int64)
    set_ptr = np.r_[0, np.cumsum(set_size)].astype(np.int64)
    members = np.concatenate(set_members) if set_members else np.zeros(0, dtype=np.int64)
    sc = np.asarray(set_c, dtype=np.int64)
    sp = np.asarray(set_p, dtype=np.int64)
    ss = np.asarray(set_s, dtype=np.int64)
    skey = ss * max(n_prov, 1) + sp
    keys, inv, counts = np.unique(skey, return_inverse=True, return_counts=True)
    shared_key = counts >= 2
    hub_of_key = np.cumsum(shared_key) - 1
    shared = shared_key[inv]
    n_hubs = n_sec + n_prov
    hub_c.extend(sc[shared].tolist())
    hub_h.extend((n_hubs + hub_of_key[inv[shared]]).tolist())

    def expand(sets: np.ndarray, provs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row, cell) for each sector of each row's set that has a cell in its province."""
        rows = np.repeat(np.arange(len(sets)), set_size[sets])
        offset = np.arange(len(rows)) - np.repeat(np.cumsum(set_size[sets]) - set_size[sets],
                                                  set_size[sets])  # fmt: skip
        cells = cell_of[members[set_ptr[sets][rows] + offset] * n_prov + provs[rows]]
        return rows[cells >= 0], cells[cells >= 0]

    alone = np.flatnonzero(~shared)
    a_row, a_cell = expand(ss[alone], sp[alone])
    sh_keys = keys[shared_key]
    h_row, h_cell = expand(sh_keys // max(n_prov, 1), sh_keys % max(n_prov, 1))
    n_set_hubs = len(sh_keys)
    cc_class = np.r_[
        np.asarray(plain, dtype=np.int64)[pair_row[hit_pair]],
        np.asarray(explicit_c, dtype=np.int64),
        sc[alone[a_row]],
    ]
    cc_cell = np.r_[
        cell_of[pair_sec[hit_pair] * n_prov + hit_prov],
        np.asarray(explicit_cell, dtype=np.int64),
        a_cell,
    ]

    orgs_used = np.unique(np.asarray(org_of_class, dtype=np.int64))
    n_orgs = len(orgs_used)
    org_node_of = np.full(n_org_all, -1, dtype=np.int64)
    org_node_of[orgs_used] = np.arange(n_orgs)

    # Groups: the needs of one organization in one cell, when some class is earmarked to that
    # organization (and perhaps sectors or provinces). A grouped need has no node of its own:
    # its cell and its organization feed the group, and the group's arc per need goes
    # straight to the province with the need's capacity and weight. Needs that a class
    # reaches directly (a need earmark, a declined need) or through a KEPT arc keep a node.
    kp, kn, ka = proposals
    dn = np.asarray(direct_n, dtype=np.int64)
    own = np.zeros(n_needs, dtype=bool)
    own[dn] = True
    if stability:
        own[kn] = True
    org_grouped = np.zeros(n_org_all, dtype=bool)
    if collapse:
        org_grouped[orgs_used] = True
        org_grouped[[uniq[c].org for c in org_sec]] = True
    grouped = org_grouped[world.need_org] & ~own
    group_key = world.need_org * max(n_cells, 1) + need_cell
    group_keys, need_group = np.unique(group_key[grouped], return_inverse=True)
    n_groups = len(group_keys)
    group_org, group_cell = group_keys // max(n_cells, 1), group_keys % max(n_cells, 1)
    group_cap = np.bincount(need_group, world.need_cap[grouped], n_groups).astype(np.int64)
    groups_of_org = np.searchsorted(group_org, np.arange(n_org_all + 1))
    cg_c: list[int] = []  # class → group
    cg_g: list[int] = []
    for c in org_sec:
        key = uniq[c]
        o = key.org
        for gi in range(groups_of_org[o], groups_of_org[o + 1]):
            cell = int(group_cell[gi])
            sec, prov = divmod(int(cell_codes[cell]), max(n_prov, 1))
            if (not key.sectors or world.sectors[sec] in key.sectors) and (
                not key.provinces or world.provinces[prov] in key.provinces
            ):
                cg_c.append(c)
                cg_g.append(gi)
        for n in needs_of_org_order[org_bounds[o] : org_bounds[o + 1]]:
            if own[n] and admits(world, key, int(n)):
                direct_c.append(c)
                direct_n.append(int(n))

    hub0 = n_classes
    cell0 = hub0 + n_hubs + n_set_hubs
    org0 = cell0 + n_cells
    group0 = org0 + n_orgs
    need0 = group0 + n_groups
    # Only needs that keep a node of their own get one (the others are arcs).
    has_node = ~grouped & (own | (not collapse))
    need_node = np.full(n_needs, -1, dtype=np.int64)
    need_node[has_node] = need0 + np.arange(int(has_node.sum()))
    prov0 = need0 + int(has_node.sum())
    sink = prov0 + n_prov
    n_nodes = sink + 1

    t_parts, h_parts, cap_parts, cost_parts, kind_parts, ac_parts, an_parts = ([] for _ in range(7))

    def add(tails, heads, caps, costs, kind, arc_class, arc_need):
        t_parts.append(np.asarray(tails, dtype=np.int64))
        h_parts.append(np.asarray(heads, dtype=np.int64))
        cap_parts.append(np.asarray(caps, dtype=np.int64))
        cost_parts.append(np.broadcast_to(np.asarray(costs, dtype=np.int64), len(t_parts[-1])))
        kind_parts.append(np.full(len(t_parts[-1]), kind, dtype=np.int8))
        ac_parts.append(np.broadcast_to(np.asarray(arc_class, dtype=np.int64), len(t_parts[-1])))
        an_parts.append(np.broadcast_to(np.asarray(arc_need, dtype=np.int64), len(t_parts[-1])))

    need_ix = np.arange(n_needs, dtype=np.int64)
    add(cc_class, cell0 + cc_cell, class_supply[cc_class], 0, CLASS_CELL, cc_class, -1)
    hc = np.asarray(hub_c, dtype=np.int64)
    add(hc, hub0 + np.asarray(hub_h, dtype=np.int64), class_supply[hc], 0, CLASS_HUB, hc, -1)
    total_supply = int(class_supply.sum())
    cell_sec, cell_prov = cell_codes // max(n_prov, 1), cell_codes % max(n_prov, 1)
    cell_ix = np.arange(n_cells, dtype=np.int64)
    add(hub0 + cell_sec, cell0 + cell_ix, np.full(n_cells, total_supply), 0, HUB_CELL, -1, -1)
    add(hub0 + n_sec + cell_prov, cell0 + cell_ix, np.full(n_cells, total_supply), 0, HUB_CELL,
        -1, -1)  # fmt: skip
    add(hub0 + n_hubs + h_row, cell0 + h_cell, np.full(len(h_row), total_supply), 0, HUB_CELL,
        -1, -1)  # fmt: skip
    dc = np.asarray(direct_c, dtype=np.int64)
    dn = np.asarray(direct_n, dtype=np.int64)
    # A need whose only way in is its cell needs no node of its own: its cell's arc goes
    # straight to the province, carrying the need's capacity and weight.
    collapsed = ~has_node & ~grouped
    cn = need_ix[~grouped]
    add(
        cell0 + need_cell[cn],
        np.where(collapsed[cn], prov0 + world.need_province[cn], need_node[cn]),
        world.need_cap[cn],
        np.where(collapsed[cn], -world.need_weight[cn], 0),
        CELL_NEED,
        -1,
        cn,
    )
    oc = np.asarray(org_classes, dtype=np.int64)
    oo = np.asarray(org_of_class, dtype=np.int64)
    add(oc, org0 + org_node_of[oo], class_supply[oc], 0, CLASS_ORG, oc, -1)
    on = need_ix[(org_node_of[world.need_org] >= 0) & has_node]
    add(
        org0 + org_node_of[world.need_org[on]],
        need_node[on],
        world.need_cap[on],
        0,
        ORG_NEED,
        -1,
        on,
    )
    add(dc, need_node[dn], np.minimum(class_supply[dc], world.need_cap[dn]), 0, CLASS_NEED, dc, dn)
    group_ix = np.arange(n_groups, dtype=np.int64)
    add(cell0 + group_cell, group0 + group_ix, group_cap, 0, CELL_GROUP, -1, -1)
    og = group_ix[org_node_of[group_org] >= 0]
    add(org0 + org_node_of[group_org[og]], group0 + og, group_cap[og], 0, ORG_GROUP, -1, -1)
    gc_ = np.asarray(cg_c, dtype=np.int64)
    gg = np.asarray(cg_g, dtype=np.int64)
    add(gc_, group0 + gg, np.minimum(class_supply[gc_], group_cap[gg]), 0, CLASS_GROUP, gc_, -1)
    gn = need_ix[grouped]
    add(group0 + need_group, prov0 + world.need_province[gn], world.need_cap[gn],
        -world.need_weight[gn], GROUP_NEED, -1, gn)  # fmt: skip

    # KEPT arcs: one per (class, need) with current proposals.
    if stability and len(ka):
        kc = pledge_class[kp]
        pair = kc * n_needs + kn
        order = np.lexsort((world.pledge_rank[kp], pair))
        kp, kn, ka, kc, pair = kp[order], kn[order], ka[order], kc[order], pair[order]
        _, first, kept_arc_local = np.unique(pair, return_index=True, return_inverse=True)
        pair_cap = np.add.reduceat(ka, first)
        base = sum(len(x) for x in t_parts)
        add(kc[first], need_node[kn[first]], pair_cap, -STABILITY_BONUS, KEPT, kc[first], kn[first])
        kept_arc = base + kept_arc_local
    else:
        kp = kn = ka = kept_arc = np.zeros(0, dtype=np.int64)

    nodes = need_ix[has_node]
    add(need_node[nodes], prov0 + world.need_province[nodes], world.need_cap[nodes],
        -world.need_weight[nodes], NEED_PROVINCE, -1, nodes)  # fmt: skip

    prov_need = np.zeros(n_prov, dtype=np.int64)
    np.add.at(prov_need, world.need_province, world.need_cap)
    total_need = int(prov_need.sum())
    pt, pc, pk = [], [], []
    for p in range(n_prov):
        bands = (
            fairness_bands(int(prov_need[p]), total_supply, total_need)
            if fairness
            else [(int(prov_need[p]), 0)]
        )
        for cap, cost in bands:
            pt.append(prov0 + p)
            pc.append(cap)
            pk.append(cost)
    add(pt, np.full(len(pt), sink), pc, pk, PROVINCE_SINK, -1, -1)

    tails = np.concatenate(t_parts)
    return Graph(
        n_classes=n_classes,
        n_cells=n_cells,
        n_orgs=n_orgs,
        n_nodes=n_nodes,
        pledge_class=pledge_class,
        class_supply=class_supply,
        tails=tails.astype(np.int32),
        heads=np.concatenate(h_parts).astype(np.int32),
        caps=np.concatenate(cap_parts),
        costs=np.concatenate(cost_parts),
        kinds=np.concatenate(kind_parts),
        arc_class=np.concatenate(ac_parts),
        arc_need=np.concatenate(an_parts),
        need_node0=need0,
        province_node0=prov0,
        sink=sink,
        kept_pledge=kp,
        kept_need=kn,
        kept_amount=ka,
        kept_arc=kept_arc,
    )


def _northwest(
    in_node: np.ndarray,
    in_src: np.ndarray,
    in_amt: np.ndarray,
    out_node: np.ndarray,
    out_dst: np.ndarray,
    out_amt: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pair the inflows and outflows of transit nodes: (source, destination, amount).

    Vectorised north-west corner rule: in every node, inflows (by source) and outflows (by
    destination) are laid end to end; since each node conserves flow, the global running
    sums of both meet at every node boundary, so one merge of the two running sums pairs
    them all, and no pair crosses a node.
    """
    keep_in, keep_out = in_amt > 0, out_amt > 0
    in_node, in_src, in_amt = in_node[keep_in], in_src[keep_in], in_amt[keep_in]
    out_node, out_dst, out_amt = out_node[keep_out], out_dst[keep_out], out_amt[keep_out]
    oi = np.lexsort((in_src, in_node))
    oo = np.lexsort((out_dst, out_node))
    cum_in, cum_out = np.cumsum(in_amt[oi]), np.cumsum(out_amt[oo])
    if len(cum_in) == 0 and len(cum_out) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), empty.copy()
    if len(cum_in) == 0 or len(cum_out) == 0 or cum_in[-1] != cum_out[-1]:
        raise AssertionError("flow is not conserved through transit nodes")
    ends = np.union1d(cum_in, cum_out)
    starts = np.r_[0, ends[:-1]]
    ci = oi[np.searchsorted(cum_in, starts, side="right")]
    co = oo[np.searchsorted(cum_out, starts, side="right")]
    if (in_node[ci] != out_node[co]).any():
        raise AssertionError("flow is not conserved through a transit node")
    return in_src[ci], out_dst[co], ends - starts


def decompose(graph: Graph, flows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The flow of each class to each need that it reaches through hubs, cells, organization
    nodes, groups or a direct arc (not KEPT arcs): (class, need, amount) triples."""
    k, heads, tails = graph.kinds, graph.heads.astype(np.int64), graph.tails.astype(np.int64)
    live = flows > 0
    i_h = np.flatnonzero((k == CLASS_HUB) & live)
    o_h = np.flatnonzero((k == HUB_CELL) & live)
    hub_c, hub_cell, hub_a = _northwest(
        heads[i_h], graph.arc_class[i_h], flows[i_h], tails[o_h], heads[o_h], flows[o_h]
    )
    # Cells and organization nodes: their outflows (by arc) go to needs or to groups.
    i_c = np.flatnonzero(((k == CLASS_CELL) | (k == CLASS_ORG)) & live)
    o_c = np.flatnonzero(
        ((k == CELL_NEED) | (k == ORG_NEED) | (k == CELL_GROUP) | (k == ORG_GROUP)) & live
    )
    c, arc, a = _northwest(
        np.r_[heads[i_c], hub_cell],
        np.r_[graph.arc_class[i_c], hub_c],
        np.r_[flows[i_c], hub_a],
        tails[o_c],
        o_c,
        flows[o_c],
    )
    to_group = (k[arc] == CELL_GROUP) | (k[arc] == ORG_GROUP)
    i_g = np.flatnonzero((k == CLASS_GROUP) & live)
    o_g = np.flatnonzero((k == GROUP_NEED) & live)
    gc, gn, ga = _northwest(
        np.r_[heads[arc[to_group]], heads[i_g]],
        np.r_[c[to_group], graph.arc_class[i_g]],
        np.r_[a[to_group], flows[i_g]],
        tails[o_g],
        graph.arc_need[o_g],
        flows[o_g],
    )
    direct = np.flatnonzero((k == CLASS_NEED) & live)
    at_need = ~to_group
    return (
        np.r_[c[at_need], gc, graph.arc_class[direct]],
        np.r_[graph.arc_need[arc[at_need]], gn, graph.arc_need[direct]],
        np.r_[a[at_need], ga, flows[direct]],
    )


def split_to_pledges(
    world: World,
    graph: Graph,
    generic: tuple[np.ndarray, np.ndarray, np.ndarray],
    kept_flow: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Class flows → pledge rows: (pledge idx, need idx, amount, kept amount), sorted.

    Kept flow on a KEPT arc goes back to the pledges that proposed it (soonest-expiring
    first). The rest of a class's flow is laid over its pledges' remaining capacity,
    soonest-expiring pledge first (then rank, id), the class's needs by weight, then (rank, id).
    """
    n_needs = len(world.need_ids)
    # 1. kept amounts to the proposing pledges (kept_* is sorted by arc, then pledge rank).
    if len(graph.kept_amount):
        arc_flow = kept_flow[graph.kept_arc]
        before = exclusive_cumsum_by_group(graph.kept_arc, graph.kept_amount)
        kept = np.clip(arc_flow - before, 0, graph.kept_amount)
        sel = kept > 0
        k_p, k_n, k_a = graph.kept_pledge[sel], graph.kept_need[sel], kept[sel]
    else:
        k_p = k_n = k_a = np.zeros(0, dtype=np.int64)
    remaining = world.pledge_cap.copy()
    np.subtract.at(remaining, k_p, k_a)

    # 2. generic flow, class by class, over the pledges' remaining capacity.
    g_c, g_n, g_a = generic
    n_classes = graph.n_classes
    class_rem = np.zeros(n_classes, dtype=np.int64)
    np.add.at(class_rem, graph.pledge_class, remaining)
    class_used = np.zeros(n_classes, dtype=np.int64)
    np.add.at(class_used, g_c, g_a)
    slack = class_rem - class_used
    if (slack < 0).any():
        raise AssertionError("a class sends more than its pledges hold")
    d_c = np.r_[g_c, np.arange(n_classes)]
    d_n = np.r_[g_n, np.full(n_classes, -1)]  # -1: the class's unused capacity, laid last
    d_a = np.r_[g_a, slack]
    d_w = np.r_[world.need_weight[g_n], np.zeros(n_classes, dtype=np.int64)]
    d_last = np.r_[np.zeros(len(g_c), dtype=np.int64), np.ones(n_classes, dtype=np.int64)]
    d_order = np.lexsort((d_n, -d_w, d_last, d_c))
    d_n, d_a = d_n[d_order], d_a[d_order]
    p_order = np.lexsort((world.pledge_rank, graph.pledge_class))
    cum_p = np.cumsum(remaining[p_order])
    cum_d = np.cumsum(d_a)
    if len(cum_p) and len(cum_d) and cum_p[-1] > 0:
        ends = np.union1d(cum_p, cum_d)
        ends = ends[ends > 0]
        starts = np.r_[0, ends[:-1]]
        seg_p = p_order[np.searchsorted(cum_p, starts, side="right")]
        seg_n = d_n[np.searchsorted(cum_d, starts, side="right")]
        seg_a = ends - starts
        real = (seg_n >= 0) & (seg_a > 0)
        seg_p, seg_n, seg_a = seg_p[real], seg_n[real], seg_a[real]
    else:
        seg_p = seg_n = seg_a = np.zeros(0, dtype=np.int64)

    # 3. rows: kept + generic per (pledge, need), sorted by (pledge id, need id).
    all_p = np.r_[k_p, seg_p]
    all_n = np.r_[k_n, seg_n]
    all_a = np.r_[k_a, seg_a]
    all_k = np.r_[k_a, np.zeros(len(seg_a), dtype=np.int64)]
    if not len(all_a):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), empty.copy(), empty.copy()
    key = all_p * n_needs + all_n
    order = np.argsort(key, kind="stable")
    key = key[order]
    first = np.r_[0, np.flatnonzero(key[1:] != key[:-1]) + 1]
    amounts = np.add.reduceat(all_a[order], first)
    kept_amounts = np.add.reduceat(all_k[order], first)
    return key[first] // n_needs, key[first] % n_needs, amounts, kept_amounts
