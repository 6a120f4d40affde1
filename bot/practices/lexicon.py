"""General vocabularies: is a word of a question a real word, or a typo?

The search corrects only words that no dictionary knows. The catalogue's own words are one
dictionary; this module adds the common words of English, French and Spanish (from the
`wordfreq` package's word lists, folded like the index: lower case, no accents), so that a real
word the catalogue lacks ("fired", "gate") is never rewritten into a catalogue word ("file",
"date"). No such list is packaged for Swahili or Lingala: for them the search corrects a word
only when it is long and the edit small (see `bot.practices.search`).

The lists are read once per process, on first use (about a second); `warm()` does it ahead.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import unicodedata
from functools import lru_cache
from pathlib import Path

GENERAL_LANGUAGES = ("en", "fr", "es")
WORDS_PER_LANGUAGE = 60_000


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=1)
def general_words() -> frozenset[str]:
    """The common words of English, French and Spanish, folded."""
    return _kept_words if _kept_words is not None else _build_words()


_kept_words: frozenset[str] | None = None


def _build_words() -> frozenset[str]:
    import wordfreq  # imported when first needed: 0.2-0.3 s

    words: set[str] = set()
    for lang in GENERAL_LANGUAGES:
        words.update(_fold(word) for word in wordfreq.top_n_list(lang, WORDS_PER_LANGUAGE)
                     if word.isalpha())
    # wordfreq keeps every list it read (about 60 MB for these three): only the set is needed
    for cached in (wordfreq.top_n_list, wordfreq.get_frequency_dict, wordfreq.get_frequency_list):
        cached.cache_clear()
    return frozenset(words)


def _cache_file(cache_dir: Path) -> Path:
    version = importlib.metadata.version("wordfreq")
    languages = "-".join(GENERAL_LANGUAGES)
    return cache_dir / f"general-words-{version}-{languages}-{WORDS_PER_LANGUAGE}.txt"


def _load_or_build(cache_dir: Path) -> frozenset[str]:
    """The word set saved under `cache_dir`, else built (about a second, and reading
    wordfreq's lists leaves some 40 MB more resident) and saved there."""
    path = _cache_file(cache_dir)
    try:
        return frozenset(path.read_text(encoding="utf-8").split("\n"))
    except OSError:
        pass
    words = _build_words()
    partial = path.with_name(f"{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text("\n".join(sorted(words)), encoding="utf-8")
        partial.replace(path)
    except OSError:
        with contextlib.suppress(OSError):
            partial.unlink()
    return words


def is_word(word: str) -> bool:
    """Whether a folded word is a common word of a language with a general vocabulary."""
    return word in general_words()


def warm(cache_dir: Path | None = None) -> None:
    """Read the word lists now rather than at the first question; with `cache_dir`, from the
    word set saved there (saved first if need be)."""
    global _kept_words
    if cache_dir is not None and general_words.cache_info().currsize == 0:
        _kept_words = _load_or_build(cache_dir)
    general_words()


# Words a question may use for what the catalogue says otherwise, per language (folded). A
# question word of a group also searches the group's other words, at a lower weight
# (`bot.practices.search.SYNONYM_WEIGHT`). Written from how users phrase questions, not from the
# entries: soldiers and police by their local names, guards, beatings, villagers, the state.
SYNONYMS: dict[str, tuple[tuple[str, ...], ...]] = {
    "en": (
        ("soldier", "soldiers", "army", "military", "troops", "battalion", "brigade", "fardc",
         "gendarme", "gendarmes", "armed forces"),
        ("police", "policeman", "policemen", "cops", "cop", "officers"),
        ("guard", "guards", "watchman", "watchmen", "guarding", "bodyguard", "security company",
         "security firm", "contractor"),
        ("beat", "beating", "beatings", "beaten", "hit", "assault", "assaulted", "abuse",
         "abuses", "violence", "mistreat", "mistreated", "torture"),
        ("villagers", "village", "villages", "community", "communities", "residents", "locals",
         "population"),
        ("government", "authorities", "state", "ministry", "minister", "officials", "governor",
         "administration"),
        ("pay", "paid", "wages", "salary", "salaries", "unpaid"),
        ("protest", "protests", "protesters", "demonstration", "demonstrators", "riot", "riots",
         "roadblock", "blockade"),
        ("hire", "hired", "hiring", "recruit", "contract", "contracted", "employ"),
        ("threat", "threats", "threatened", "intimidated", "intimidation"),
        ("activist", "activists", "defender", "defenders", "journalist", "whistleblower"),
        ("check", "vet", "vetting", "screen", "screening", "background", "record", "records"),
        ("training", "train", "trained", "course", "workshop", "seminar"),
        ("complaint", "complaints", "grievance", "grievances", "report", "reporting"),
        ("rebels", "militia", "militias", "armed groups", "war", "conflict"),
        ("women", "girls", "gender", "female"),
        ("indigenous", "tribe", "tribal", "natives", "pygmies", "batwa"),
        ("agreement", "deal", "memorandum", "mou", "convention"),
    ),
    "fr": (
        ("soldat", "soldats", "militaire", "militaires", "armee", "fardc", "gendarme",
         "gendarmes", "bataillon", "troupes"),
        ("police", "policier", "policiers", "flic", "flics", "agents de police"),
        ("garde", "gardes", "gardien", "gardiens", "vigile", "vigiles", "gardiennage",
         "prestataire", "agents de securite"),
        ("frapper", "frappe", "frappes", "tabasse", "tabasser", "battu", "battus", "bavure",
         "bavures", "exactions", "abus", "maltraite", "maltraites", "violences"),
        ("villageois", "village", "villages", "communaute", "communautes", "population",
         "riverains", "habitants"),
        ("gouvernement", "etat", "autorites", "ministere", "ministre", "gouverneur",
         "administration"),
        ("salaire", "salaires", "paye", "payes", "paie", "solde", "impayes"),
        ("manifestation", "manifestations", "manif", "manifestants", "emeute", "barrage",
         "barrages", "bloquent"),
        ("embaucher", "engager", "engage", "recruter", "recrute", "contracter"),
        ("menace", "menaces", "menacé", "intimidation", "intimide"),
        ("militant", "militants", "defenseur", "defenseurs", "activiste", "journaliste"),
        ("formation", "former", "formes", "formé", "atelier", "seminaire"),
        ("plainte", "plaintes", "doleances", "signaler", "denoncer"),
        ("rebelles", "milice", "milices", "groupes armes", "guerre", "conflit"),
        ("accord", "convention", "protocole", "memorandum"),
    ),
    "es": (
        ("soldado", "soldados", "militar", "militares", "ejercito", "batallon", "brigada",
         "tropas"),
        ("policia", "policias", "agentes", "tombos", "carabineros"),
        ("guardia", "guardias", "vigilante", "vigilantes", "vigilancia", "celador", "celadores",
         "contratista", "empresa de seguridad"),
        ("golpear", "golpearon", "golpe", "golpes", "pegaron", "maltrato", "maltrataron", "abuso",
         "abusos", "violencia", "atropellos"),
        ("comunidad", "comunidades", "campesinos", "pobladores", "vecinos", "comuneros",
         "pueblo", "poblacion"),
        ("gobierno", "estado", "autoridades", "ministerio", "ministro", "gobernador", "alcaldia",
         "alcalde", "prefectura"),
        ("salario", "salarios", "sueldo", "sueldos", "pagan", "pago"),
        ("protesta", "protestas", "manifestacion", "manifestantes", "bloqueo", "bloquean", "paro"),
        ("contratar", "contratamos", "emplear", "reclutar"),
        ("amenaza", "amenazas", "amenazado", "intimidacion"),
        ("lider social", "activista", "defensor", "defensores", "periodista"),
        ("capacitacion", "capacitar", "formacion", "entrenamiento", "taller"),
        ("queja", "quejas", "reclamo", "reclamos", "denuncia", "denuncias"),
        ("guerrilla", "rebeldes", "milicia", "grupos armados", "guerra", "conflicto"),
        ("acuerdo", "convenio", "memorando"),
    ),
    "sw": (
        ("askari", "wanajeshi", "mwanajeshi", "jeshi", "fardc", "maaskari"),
        ("mlinzi", "walinzi", "ulinzi", "mlinda", "walinda"),
        ("piga", "walimpiga", "wanawapiga", "kupiga", "kupigwa", "unyanyasaji", "ukatili",
         "dhuluma", "dhulma", "mateso", "unyanyasa"),
        ("jamii", "wananchi", "wanakijiji", "kijiji", "vijiji", "wakazi"),
        ("serikali", "wizara", "mamlaka", "gavana", "mkoa", "wilaya", "waziri"),
        ("mshahara", "mishahara", "malipo", "kulipwa", "hawajalipwa"),
        ("maandamano", "waandamanaji", "fujo", "ghasia", "kufunga barabara"),
        ("kuajiri", "tuliajiri", "ajira", "mkataba"),
        ("vitisho", "anatishiwa", "kutishiwa", "tishio"),
        ("mtetezi", "watetezi", "mwanaharakati", "wanaharakati", "mwandishi wa habari"),
        ("mafunzo", "kufundishwa", "semina", "elimu"),
        ("malalamiko", "kulalamika", "kuripoti", "ripoti"),
        ("waasi", "wanamgambo", "vikundi vya silaha", "vita", "mzozo", "migogoro"),
        ("makubaliano", "mkataba wa maelewano", "mou"),
    ),
    "ln": (
        ("soda", "basoda", "militaire", "militaires", "fardc", "mampinga"),
        ("polisi", "bapolisi", "police", "mopolisi"),
        ("mokengeli", "bakengeli", "gardien", "bagardien", "sentinelle"),
        ("kobeta", "babetaki", "babeti", "minyoko", "konyokola", "banyokoli", "abus"),
        ("bato ya mboka", "mboka", "bamboka", "bana mboka", "communaute", "populasio"),
        ("leta", "guvernema", "gouvernement", "ministre", "guverneur", "bakonzi"),
        ("lifuti", "lifuta", "salaire", "mbongo ya sanza"),
        ("manifestation", "bazali kobuka nzela", "kokanga nzela", "kobuka nzela"),
        ("bitisho", "menaces", "kobangisa", "babangisi"),
        ("formation", "koyekolisa", "mateya", "kolakisa"),
        ("rebelles", "bitumba", "mampinga", "bituluku ya bitumba"),
        ("boyokani", "accord", "protocole", "mou"),
    ),
}
