"""General English, kept as data: speech verbs, titles and roles, organisation nouns and words that are nobody's name.

Nothing here names a person, a place or an outlet: these lists hold for any English news corpus.
"""

from __future__ import annotations

from embeddings.calendar import MONTHS, WEEKDAYS


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Verbs that report speech, in every form a news sentence uses them.
SPEECH_VERBS = _words(
    """say says said saying tell tells told telling note notes noted add adds added stress stresses stressed argue
    argues argued claim claims claimed explain explains explained reply replies replied respond responds responded
    state states stated urge urges urged warn warns warned admit admits admitted cite cites cited suggest suggests
    suggested emphasise emphasises emphasised emphasize emphasizes emphasized insist insists insisted reiterate
    reiterates reiterated declare declares declared believe believes believed think thinks thought write writes wrote
    observe observes observed opine opines opined post posts posted reveal reveals revealed quip quips quipped
    announce announces announced confirm confirms confirmed concede concedes conceded acknowledge acknowledges
    acknowledged predict predicts predicted promise promises promised recall recalls recalled remark remarks
    remarked comment comments commented tweet tweets tweeted maintain maintains maintained counter counters countered
    agree agrees agreed describe describes described deny denies denied allege alleges alleged assert asserts asserted
    contend contends contended point points pointed joke jokes joked complain complains complained report reports
    reported accuse accuses accused vow vows vowed pledge pledges pledged concluded conclude concludes estimated
    estimates estimate mused muses wrote""")
# Speech verbs only when a quote or a comma sets them off ("...," he continued): otherwise they report acts
# ("continued to snub", "called for talks", "refused to play").
WEAK_SPEECH_VERBS = _words(
    """continue continues continued call calls called ask asks asked refuse refuses refused dismiss dismisses
    dismissed express expresses expressed point points pointed report reports reported describe describes described
    agree agrees agreed counter counters countered""")
# Words between a speaker and the verb ("X has also said", "X, however, told").
SPEECH_ADVERBS = _words(
    """has had have also previously recently then later further once already again publicly earlier today yesterday
    however reportedly repeatedly still now has also even privately openly last night""")
# Titles and honorifics before a name, capitalized or not ("Defence Minister X", "national selector X", "Mr X").
TITLES = _words(
    """president prime minister secretary secretary-general general chancellor premier leader king queen prince
    princess senator governor mayor judge justice professor prof dr doctor mr mrs ms miss sir dame lord lady pope
    commander admiral colonel captain lieutenant sergeant corporal major marshal ambassador envoy speaker deputy
    vice chairman chairwoman chairperson chair chief executive ceo director manager coach selector skipper
    spokesman spokeswoman spokesperson official officer superintendent inspector detective constable commissioner
    assistant treasurer attorney-general attorney solicitor barrister lawyer prosecutor coroner magistrate
    scientist researcher economist analyst expert author writer journalist reporter editor columnist correspondent
    founder owner head boss chief-executive president-elect mp rep sen gov representative councillor councilor
    defence defense foreign interior home finance health education immigration trade opposition shadow federal
    state national regional local acting former then-prime then senior junior interim party team club union
    player batsman bowler striker goalkeeper midfielder defender veteran rookie star actor actress singer director
    producer filmmaker designer chef pilot driver rider champion manager-elect""")
# Titles after which one name alone is a person's surname ("President Xi", "Mr Downer"); occupations such as
# "economist" or "director" before a single capitalized word are too often an outlet's or a work's name.
HONORIFICS = _words(
    """president prime minister secretary secretary-general chancellor premier king queen prince princess senator
    governor mayor judge justice professor prof dr mr mrs ms miss sir dame lord lady pope commander admiral general
    colonel captain lieutenant sergeant ambassador speaker chairman chairwoman coach skipper treasurer
    attorney-general inspector superintendent detective constable commissioner rep sen gov councillor""")
# Role nouns that stand for a person in a clause ("the minister said", "a spokeswoman says").
ROLE_NOUNS = _words(
    """minister president premier chancellor secretary spokesman spokeswoman spokesperson official officer leader
    chief chairman chairwoman chair director manager coach captain commander general ambassador judge senator
    governor mayor professor scientist researcher economist analyst expert lawyer prosecutor coroner inspector
    superintendent commissioner detective sergeant constable treasurer skipper selector batsman bowler player
    source sources witness witnesses police""")
# Roles that speak for someone else: "a spokesman for X says" is the spokesman's voice, not X's.
PROXY_ROLES = _words("spokesman spokeswoman spokesperson spokespeople aide aides adviser advisor lawyer source sources")
# The last word of an organisation's or a work's name: nobody's voice as a person.
ORGANISATION_WORDS = _words(
    """bank board council party ministry department association university college school club committee commission
    court government agency service services company group inc ltd corp corporation authority institute
    foundation federation union league airlines airways times post news herald journal tribune guardian review
    network television radio press office police army navy force forces parliament senate assembly cabinet church
    hospital centre center bureau organisation organization society trust fund reserve exchange tribunal museum
    studios records labs motors holdings partners alliance coalition front movement brigade regiment command fc
    united city county district region province state states republic kingdom federation daily weekly magazine
    channel broadcasting agency industries systems technologies pharmaceuticals energy petroleum mining resources
    insurance securities capital markets airport station stadium cup open championship games awards festival""")
# Capitalized words that start a clause or a sentence, or name a time: never a person's name.
NOT_NAMES = _words(
    """He She It They We I You This That These Those His Her Their Its Our My Your The A An In On At If But And Or
    Yet So When While Where Why How What Which Who Whom Whose According Earlier Notably Nonetheless Meanwhile
    However Although Though Despite After Before During Since Until Unless Because As Also Last Next Prior Citing
    Today Tonight Yesterday Tomorrow Without With Within From For By Of To Into Onto Over Under Between Among
    Against About Around Through Throughout Across Speaking Asked Told Earlier Later Now Then There Here Such
    Some Many Most More Several Both Each Every All Any No Not Neither Either One Two Three Four Five Six Seven
    Eight Nine Ten First Second Third Another Other Western Eastern Northern Southern West East North South
    Mr Mrs Ms Dr Sir La Le Les Il El Los Las Der Die Das Al Van Von De Du
    Photo Image Video Watch Read Related Share Click Subscribe Follow Advertisement Sponsored Updated Published"""
) | frozenset(MONTHS) | frozenset(WEEKDAYS)
# Particles inside a full name ("Charles de Gaulle", "Ludwig van Beethoven", "Osama bin Laden").
NAME_PARTICLES = _words("de da del della di du van von der den ter bin ibn al el la le st st.")
PRONOUNS = _words("he she")
