"""Roles from the dependency parse: which tokens fill a frame's slots.

Everything here reads a :class:`~pipeline.extract.parse.Sent` (token arrays). A slot names a
grammatical relation (the codebook's header lists them); this module turns it into the head tokens
of the noun phrases that fill it,
with coordination expanded ("X, Y and Z closed their consulates" gives three heads).
Prepositional phrases are reached only through the slot that names their preposition, so a
country in "a conference on Syria in Geneva" can never become a participant of a meeting frame
(neither `on` nor `in` is one of its slots); `in`/`at` objects become the location instead.
"""

from __future__ import annotations

from pipeline.extract.frames import grammar_words
from pipeline.extract.parse import Sent

PASSIVE_DEPS = ("auxpass", "nsubjpass")
# Words that make a preposition part of a longer one ("with regard to", "according to", "due to").
COMPOUND_PREP_HEADS = frozenset(
    "regard regards respect according due prior addition contrary thanks owing close next relation reference".split()
)


class Slots:
    """The slots of one parsed sentence."""

    def __init__(self, sent: Sent):
        self.s = sent
        words = grammar_words()
        self.object_control = words.object_control
        self.frame_preps = words.frame_preps

    # -- basic relations ------------------------------------------------------------------------
    def is_passive(self, v: int) -> bool:
        s = self.s
        if any(s.deps[k] in PASSIVE_DEPS for k in s.kids[v]):
            return True
        # Participle modifying a noun ("sanctions imposed by the EU"): passive when it is a VBN.
        return s.deps[v] == "acl" and s.tags[v] == "VBN"

    def conj_expand(self, heads: list[int]) -> list[int]:
        s = self.s
        out: list[int] = []
        stack = list(heads)
        while stack:
            h = stack.pop(0)
            if h in out:
                continue
            out.append(h)
            stack.extend(k for k in s.kids[h] if s.deps[k] == "conj" and s.pos[k] in ("PROPN", "NOUN", "PRON", "ADJ"))
        return out

    def pobj(self, prep: int) -> list[int]:
        s = self.s
        objs = [k for k in s.kids[prep] if s.deps[k] in ("pobj", "pcomp")]
        return objs

    def preps(self, h: int, name: str) -> list[int]:
        """Objects of preposition ``name`` governed by token h ("by" also as a passive agent)."""
        s = self.s
        out = []
        for k in s.kids[h]:
            lem = s.lower(k)
            if s.deps[k] in ("prep", "agent", "dative") and lem == name:
                if k > 0 and s.lower(k - 1) in COMPOUND_PREP_HEADS:
                    continue  # "in regard to X", "according to X", "due to X": not the verb's "to"
                out.extend(self.pobj(k))
            elif s.deps[k] == "prt" and lem == name:
                # "called on Iran": the particle's object is the verb's dobj
                out.extend(j for j in s.kids[h] if s.deps[j] == "dobj")
            elif s.deps[k] == "prep" and lem in ("between", "among") and name == "between":
                out.extend(self.pobj(k))
            elif name == "by" and s.deps[k] == "acl" and s.tags[k] == "VBN":
                # "talks initiated by X", "a meeting chaired by X"
                out.extend(self.preps(k, "by"))
        return out

    def logical_subject(self, v: int, depth: int = 0) -> list[int]:
        s = self.s
        if depth > 6:
            return []
        if self.is_passive(v):
            agents = self.preps(v, "by")
            if not agents:
                # The parser often hangs "by X" on the noun before it ("designated as a terrorist
                # group by Canada"): an agent phrase inside the verb's own prepositional phrases.
                subject = {j for k in s.kids[v] if s.deps[k] == "nsubjpass" for j in s.subtree(k)}
                for j in s.subtree(v):
                    if s.lower(j) == "by" and s.deps[j] == "prep" and j not in subject and s.deps[s.heads[j]] == "pobj":
                        agents = self.pobj(j)
                        break
            return agents
        subj = [k for k in s.kids[v] if s.deps[k] in ("nsubj", "csubj", "expl")]
        subj = [k for k in subj if s.deps[k] != "expl"]
        if subj:
            return subj
        dep, h = s.deps[v], s.heads[v]
        if h == v:
            # A headline parsed without a subject ("Russia reacts positively"): a proper noun
            # compound right before the verb.
            comp = [
                k
                for k in s.kids[v]
                if s.deps[k] in ("compound", "npadvmod") and k < v and s.pos[k] in ("PROPN", "NOUN")
            ]
            return comp[-1:]
        if dep == "xcomp":
            if self.is_passive(h):
                # "X is expected / scheduled / set to visit": the raised subject
                sp = [k for k in s.kids[h] if s.deps[k] == "nsubjpass"]
                if sp:
                    return sp
            if s.lemmas[h] in self.object_control:
                obj = [k for k in s.kids[h] if s.deps[k] == "dobj"]
                if obj:
                    return obj
            return self.logical_subject(h, depth + 1)
        if dep == "conj":
            return self.logical_subject(h, depth + 1)
        if dep == "advcl":
            return self.logical_subject(h, depth + 1) if s.pos[h] in ("VERB", "AUX") else []
        if dep == "relcl":
            # "China was the only country to have accepted": the copula's subject
            if s.deps[h] == "attr" and s.pos[h] == "NOUN":
                return self.logical_subject(s.heads[h], depth + 1)
            return [h]
        if dep == "pcomp":
            # "at the forefront of sending aid", "after meeting X": the governing clause's subject
            x = h
            for _ in range(4):
                if s.pos[x] in ("VERB", "AUX") or s.heads[x] == x:
                    break
                x = s.heads[x]
            return self.logical_subject(x, depth + 1) if s.pos[x] in ("VERB", "AUX") and x != v else []
        if dep == "acl":
            if s.tags[v] == "VBG":
                return [h]  # "the president, visiting Tehran"
            # "Russia's decision to recognize", "a decision by the EU to impose": the noun's
            # possessor, national modifier or agent; "China was the only country to accept":
            # the subject the noun is predicated of.
            got = [
                k
                for k in self.modifier_actors(h)
                if s.deps[k] == "poss" or s.pos[k] == "PROPN" or s.words[k][:1].isupper()
            ]
            # "an invitation to X to visit": the invitee.
            got = got or self.preps(h, "by") or self.preps(h, "to")
            if not got and s.deps[h] == "attr":
                got = self.logical_subject(s.heads[h], depth + 1)
            return got
        return []

    def logical_object(self, v: int) -> list[int]:
        s = self.s
        if self.is_passive(v):
            if s.deps[v] == "acl":
                return [s.heads[v]]
            return [k for k in s.kids[v] if s.deps[k] == "nsubjpass"]
        objs = [k for k in s.kids[v] if s.deps[k] in ("dobj", "obj")]
        if not objs:
            objs = [k for k in s.kids[v] if s.deps[k] == "attr"]
        return objs

    def modifier_actors(self, n: int) -> list[int]:
        """Possessor and national modifiers of a noun ("Iran's", "Iranian", "EU", "Iran-Iraq")."""
        s = self.s
        out = [k for k in s.kids[n] if s.deps[k] == "poss"]
        out += [
            k
            for k in s.kids[n]
            if s.deps[k] in ("amod", "compound", "nmod") and s.pos[k] in ("PROPN", "ADJ", "NOUN") and k < n
        ]
        # "Iran-Iraq talks": the first name hangs off the second; "the Iranian and Saudi ministers"
        more = []
        for k in out:
            more += [j for j in s.kids[k] if s.deps[j] == "compound" and s.pos[j] == "PROPN"]
            more += [j for j in s.kids[k] if s.deps[j] == "conj" and s.pos[j] in ("PROPN", "ADJ", "NOUN")]
        return sorted(set(out + more))

    def support_verb(self, n: int, support: frozenset[str]) -> int | None:
        """The verb whose subject is the actor of nominal trigger n, if any."""
        s = self.s
        h = s.heads[n]
        if h == n:
            return None
        dep = s.deps[n]
        if dep in ("dobj", "attr", "nsubjpass", "oprd") and s.pos[h] in ("VERB", "AUX") and s.lemmas[h] in support:
            return h
        if dep == "conj":
            return self.support_verb(h, support)
        if dep == "pobj" and s.deps[h] == "prep":
            # "signed over a $100 million deal" (a misread particle), "agreed on a deal"
            v = s.heads[h]
            if v != h and s.pos[v] in ("VERB", "AUX") and s.lemmas[v] in support and s.lower(h) not in self.frame_preps:
                return v
        return None

    def frame_verb(self, n: int) -> int | None:
        """The verb governing the prepositional phrase that holds noun n ("In a meeting with X, Y
        said"; "X made the remarks in a phone call with Y")."""
        s = self.s
        h = s.heads[n]
        if s.deps[n] == "pobj" and h != n and s.lower(h) in self.frame_preps:
            v = s.heads[h]
            for _ in range(3):
                if v == h or s.pos[v] in ("VERB", "AUX"):
                    break
                if s.deps[v] not in ("dobj", "pobj", "prep"):
                    return None
                v = s.heads[v]
            if v != h and s.pos[v] in ("VERB", "AUX"):
                return v
        return None

    def frame_noun(self, n: int) -> int | None:
        """The noun governing the prepositional phrase that holds noun n ("his visit after trips to X")."""
        s = self.s
        h = s.heads[n]
        if s.deps[n] == "pobj" and h != n and s.lower(h) in self.frame_preps:
            m = s.heads[h]
            if m != h and s.pos[m] in ("NOUN", "PROPN"):
                return m
        return None

    # -- slots --------------------------------------------------------------------------------
    def slot(self, t: int, name: str, *, is_noun: bool, support: int | None) -> list[int]:
        s = self.s
        first, _, rest = name.partition(">")
        heads: list[int] = []
        if first == "subj":
            if not is_noun:
                heads = self.logical_subject(t)
            elif support is not None:
                heads = self.logical_subject(support)
            else:
                # a small clause: "declared [the Taliban] [a terrorist organization]"
                heads = [k for k in s.kids[t] if s.deps[k] == "nsubj"]
        elif first == "frame_subj":
            v = self.frame_verb(t) if is_noun else None
            heads = self.logical_subject(v) if v is not None else []
            if v is not None and s.lemmas[v] == "be" and all(s.pos[h] in ("PRON", "DET") for h in heads):
                # "This will be the prime minister's third visit after trips to X": the copula's
                # predicate noun names whose trips they are.
                heads = [m for a in s.kids[v] if s.deps[a] == "attr" for m in self.modifier_actors(a)]
            if not heads and is_noun:
                m = self.frame_noun(t)
                heads = self.modifier_actors(m) if m is not None else []
        elif first == "cond_subj":
            # "threatened to stop the talks if the United States goes ahead": who the condition
            # names is whom the threat is aimed at.
            verbs = [t] + [k for k in s.kids[t] if s.deps[k] in ("xcomp", "ccomp")]
            for v in verbs:
                for k in s.kids[v]:
                    if s.deps[k] == "advcl" and any(
                        s.deps[j] == "mark" and s.lower(j) in ("if", "unless") for j in s.kids[k]
                    ):
                        heads += self.logical_subject(k)
        elif first == "clause_subj":
            # A participle's noun in a clause whose subject is a pair ("the two countries agreed to
            # activate an agreement signed in 1998"): the clause's subject.
            x = t
            for _ in range(6):
                if s.heads[x] == x:
                    break
                x = s.heads[x]
                if s.pos[x] in ("VERB", "AUX") and s.deps[x] not in ("acl", "amod", "xcomp"):
                    break
            heads = self.logical_subject(x) if s.pos[x] in ("VERB", "AUX") and x != t else []
        elif first == "obj":
            if not is_noun:
                heads = self.logical_object(t)
        elif first == "dative":
            heads = [k for k in s.kids[t] if s.deps[k] == "dative" and s.pos[k] != "ADP"]
            for k in s.kids[t]:
                if s.deps[k] == "dative" and s.pos[k] == "ADP":
                    heads += self.pobj(k)
        elif first == "poss":
            heads = self.modifier_actors(t) if is_noun else []
        elif first in ("self", "location", "host_subj"):
            return []
        elif first == "comp":
            # The embedded act of "agreed to X", "demanded that X", "refused to X", "threatened to X".
            heads = [
                k
                for k in s.kids[t]
                if s.deps[k] in ("xcomp", "ccomp")
                or (s.deps[k] in ("advcl", "acl") and any(s.lower(j) == "to" for j in s.kids[k]))
            ]
            if is_noun and not heads and support is not None:
                heads = [k for k in s.kids[support] if s.deps[k] in ("xcomp", "ccomp")]
            if rest:
                out: list[int] = []
                for h in heads:
                    if rest.split(">")[0] == "subj" and s.deps[h] == "xcomp":
                        continue  # the subject of "threatened to X" is the threatener itself
                    out += self.slot(h, rest, is_noun=s.pos[h] not in ("VERB", "AUX"), support=None)
                return out
            return heads

        else:
            places = [t]
            if is_noun and support is not None:
                places.append(support)
            if is_noun and support is None:
                fv = self.frame_verb(t)
                if fv is not None:
                    places.append(fv)
            if is_noun and first != "of":
                # "the visit of the Chilean president to Peru": the parser often hangs "to Peru" on
                # the "of" object
                places += self.preps(t, "of")
            if not is_noun:
                # "signed an agreement with X", "signed over a deal with X": the object's phrases too
                places += [k for k in s.kids[t] if s.deps[k] in ("dobj",)]
                places += [o for k in s.kids[t] if s.deps[k] == "prep" and s.lower(k) != first for o in self.pobj(k)]
            for p in places:
                heads += self.preps(p, first)
            if first == "targeting":
                for k in s.kids[t]:
                    if s.deps[k] == "acl" and s.lemmas[k] in ("target", "against"):
                        heads += [j for j in s.kids[k] if s.deps[j] == "dobj"]
        heads = self.conj_expand(sorted(set(heads)))
        if rest:
            out = []
            for h in heads:
                out += self.slot(h, rest, is_noun=s.pos[h] not in ("VERB", "AUX"), support=None)
            return out
        return heads

    def objects(self, t: int, is_noun: bool) -> list[int]:
        if is_noun:
            return self.preps(t, "of")
        s = self.s
        objs = self.logical_object(t)
        if not objs:
            # "agreed upon / on / to a pact", "signed over a deal": a preposition's object
            objs = [o for k in s.kids[t] if s.deps[k] == "prep" for o in self.pobj(k)]
        # "presented copies of his credentials": look one "of" deeper, and through "as".
        deeper = []
        for o in objs:
            deeper += self.preps(o, "of")
        return self.conj_expand(objs) + deeper

    def clause_lemmas(self, t: int) -> set[str]:
        """The words of the trigger's clause (up to its nearest verb), for a frame's `context`."""
        s = self.s
        top = t
        for _ in range(4):
            h = s.heads[top]
            if h == top:
                break
            top = h
            # a participle modifying a noun is not the clause ("planes containing aid have landed")
            if s.pos[top] in ("VERB", "AUX") and s.deps[top] not in ("acl", "amod"):
                break
        # The trigger itself does not count: "aided" is not the aid noun that makes it aid.
        words = [i for i in s.subtree(top) if i != t]
        return {s.lemmas[i] for i in words} | {s.lower(i) for i in words}
