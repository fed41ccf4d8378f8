//! Demo content for `parley serve --demo`: The Riverside Courier, a fictional local paper,
//! with three stories and a lively, civil conversation under the main one.
//!
//! Everything here is invented: the town, its council, its people and their words. Times
//! are fixed instants (unix milliseconds), so two demo databases look the same.

use std::collections::HashMap;

use anyhow::{Context, Result, anyhow};
use parley_core::{DisplayName, Email, Role, markdown, slugify};
use parley_store::{CommentEdit, NewComment, NewUser, Store, Story, StoryFields};

const SITE: &str = "courier";
const ORIGINS: [&str; 2] = ["http://localhost:8080", "http://127.0.0.1:8080"];
const PASSWORD: &str = "demo-password";
const MAX_DEPTH: i64 = 6;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// 2026-01-12 10:00 UTC: the site and the newsroom's accounts.
const SITE_CREATED: i64 = 1_768_212_000_000;
/// 2026-09-03 08:30 UTC.
const MAIN_PUBLISHED: i64 = 1_788_424_200_000;
/// 2026-05-14 09:00 UTC.
const LIBRARY_PUBLISHED: i64 = 1_778_749_200_000;
/// 2026-06-20 09:00 UTC.
const LIBRARY_CLOSED: i64 = 1_781_946_000_000;
/// 2026-09-02 16:00 UTC.
const WEATHER_PUBLISHED: i64 = 1_788_364_800_000;

const MAIN_URL: &str = "https://courier.example/2026/09/riverside-road-vote";
const LIBRARY_URL: &str = "https://courier.example/2026/05/hollis-street-library-reopens";
const WEATHER_URL: &str = "https://courier.example/2026/09/weekend-weather";

const CLOSED_MESSAGE: &str =
    "Comments on this story are now closed. Thank you for the conversation.";

struct Person {
    key: &'static str,
    email: &'static str,
    name: &'static str,
    role: Role,
}

const PEOPLE: &[Person] = &[
    Person {
        key: "maya",
        email: "staff@demo.parley",
        name: "Maya Okafor",
        role: Role::Staff,
    },
    Person {
        key: "sam",
        email: "moderator@demo.parley",
        name: "Sam Whitfield",
        role: Role::Moderator,
    },
    Person {
        key: "ruth",
        email: "admin@demo.parley",
        name: "Ruth Ellison",
        role: Role::Admin,
    },
    Person {
        key: "priya",
        email: "reader@demo.parley",
        name: "Priya N.",
        role: Role::Reader,
    },
    Person {
        key: "bill",
        email: "bill@demo.parley",
        name: "Ferryman Bill",
        role: Role::Reader,
    },
    Person {
        key: "helen",
        email: "helen@demo.parley",
        name: "Dr. Helen Marsh",
        role: Role::Reader,
    },
    Person {
        key: "kwame",
        email: "kwame@demo.parley",
        name: "kwame_cycles",
        role: Role::Reader,
    },
    Person {
        key: "rosa",
        email: "rosa@demo.parley",
        name: "Rosa Delgado",
        role: Role::Reader,
    },
    Person {
        key: "oldmill",
        email: "oldmill@demo.parley",
        name: "Old Mill Resident",
        role: Role::Reader,
    },
    Person {
        key: "thornbury",
        email: "thornbury@demo.parley",
        name: "J. Thornbury",
        role: Role::Reader,
    },
    Person {
        key: "lena",
        email: "lena@demo.parley",
        name: "Lena Fischer",
        role: Role::Reader,
    },
];

/// The newsroom account that answers readers and picks featured comments.
const STAFF: &str = "maya";

// ---- the main story ----

const MAIN_HEADLINE: &str =
    "Council votes 7–4 to close Riverside Road to cars for an 18-month trial";

const MAIN_STANDFIRST: &str = "After a four-hour debate, councillors backed turning the stretch between Mill Bridge and Ferry Street into a route for walking and cycling from next spring, over the objections of drivers and some traders.";

const MAIN_CAPTION: &str = "Riverside Road at Mill Bridge on Tuesday morning. Under the trial, the stretch will be open only to buses, bicycles and people on foot.";

const MAIN_BODY: &str = "\
*By Maya Okafor, City Hall reporter*

Riverside Road will close to private cars between Mill Bridge and Ferry Street from April, after the city council voted 7–4 on Tuesday night to approve an 18-month trial. The half-mile stretch, which carries around 6,800 vehicles on a typical weekday according to the council's own counts, will become a route for people walking, cycling and using wheelchairs, with new seating and planting along the water.

The decision ends more than a year of argument that filled two public meetings and drew over 2,300 written responses to the council's consultation. Supporters packed the public gallery with hand-painted signs reading \"Give us the river back\"; a smaller group of opponents, many of them drivers who use the road to reach the boatyards at Gull Point, stood at the back.

## What the trial will change

Bollards controlled by number-plate cameras will stop through traffic at both ends of the stretch. Buses, emergency vehicles and blue-badge holders who live on the road will keep access, and deliveries will be allowed before 10 a.m. The 38 parking spaces along the river will go; officers told councillors that the Ferry Street car park, which a survey found was rarely more than two-thirds full, could absorb the demand.

Councillor Joan Pryce, who chairs the transport committee and proposed the motion, said the trial was about safety first. \"Four children have been hurt on this road in five years, and every one of those collisions happened within sight of the school gate,\" she told the chamber. \"We are not asking people to give up their cars. We are asking them to give up one short cut.\"

## \"The traffic does not disappear\"

Opponents argued that the council's modelling understated the knock-on effects. The traffic study predicts that most displaced journeys will move to Station Avenue, adding between three and five minutes to peak-hour trips. Councillor Martin Hale, who voted against, said people living around Station Avenue had been \"left out of the conversation entirely\".

\"I have nothing against a nicer riverside. I have a great deal against moving a queue from one neighbourhood to another and calling it progress,\" he said.

Traders on Ferry Street were divided. Ahmed Rahimi, who has run a bakery near the bridge for 14 years, said he expected more customers on foot but worried about his supplies: \"My flour comes on a lorry at eleven. Nobody has told me yet whether that lorry will get through.\"

## What happens next

Council officers will publish a monitoring plan before the trial starts, and the motion requires a public report after 12 months covering journey times, air quality near Mill Bridge Primary School and takings in local shops. The council can end the trial early by a simple majority. A decision on whether to make the closure permanent is expected in the autumn of 2028.
";

const MAIN_UPDATE_NOTE: &str = "\n*Update, 3 September: this story was updated to make clear that route 11 buses keep all three of their stops on Riverside Road during the trial.*\n";

/// One comment of a scripted conversation, in the order it was posted.
struct Line {
    key: &'static str,
    author: &'static str,
    parent: Option<&'static str>,
    /// Minutes after the story was published.
    minute: i64,
    body: &'static str,
}

const MAIN_CONVERSATION: &[Line] = &[
    Line {
        key: "bill_detour",
        author: "bill",
        parent: None,
        minute: 14,
        body: "I've driven Riverside Road to the boatyard at Gull Point every working day for 22 years. The study says the detour adds \"between three and five minutes\". Maybe at six in the morning. Try Station Avenue at 8:15, when it's already backed up past the school.",
    },
    Line {
        key: "priya_school",
        author: "priya",
        parent: None,
        minute: 21,
        body: "I walk my two along the river path to Mill Bridge Primary every morning. It's the only way to school that doesn't mean crossing four lanes, and twice this year I've watched a car mount the kerb to get round a bus. I'm glad this passed, even if the consultation was handled clumsily.",
    },
    Line {
        key: "kwame_path",
        author: "kwame",
        parent: Some("bill_detour"),
        minute: 26,
        body: "Fair point about 8:15, Bill, but the same study counted about 1,100 people a day walking and cycling on a path that's barely two metres wide in places. They've been squeezed for years too; it just never made the paper.",
    },
    Line {
        key: "rosa_bus",
        author: "rosa",
        parent: None,
        minute: 33,
        body: "The story says buses keep access, but does that mean the 11 keeps its stops on Riverside Road, or does it get sent round by Station Avenue? My mother takes it to the health centre twice a week and she can't manage the walk from Ferry Street.",
    },
    Line {
        key: "bill_somewhere",
        author: "bill",
        parent: Some("kwame_path"),
        minute: 41,
        body: "Nobody's against the cyclists, Kwame. I'm against pretending the cars just vanish. They go *somewhere*, and somewhere is Station Avenue.",
    },
    Line {
        key: "oldmill_footfall",
        author: "oldmill",
        parent: None,
        minute: 48,
        body: "> he expected more customers on foot\n\nEvery closure scheme promises this. I'd like to see actual numbers from when they closed Quay Lane on the other side of the river. Did anyone at the council check?",
    },
    Line {
        key: "maya_bus",
        author: "maya",
        parent: Some("rosa_bus"),
        minute: 55,
        body: "Good question, Rosa. I checked with the council's transport team this morning: route 11 keeps all three of its stops on Riverside Road during the trial. Buses pass the camera gate without stopping, so the timetable shouldn't change. I've added a line to the story to make that clear.",
    },
    Line {
        key: "thornbury_quay",
        author: "thornbury",
        parent: Some("oldmill_footfall"),
        minute: 63,
        body: "I run a shop on Quay Lane, so here's one data point. The first six months after the closure were rough, and we nearly had to let someone go. Year two was our best since we opened in 2011. I won't pretend every shop on the lane would tell you the same story.",
    },
    Line {
        key: "lena_criteria",
        author: "lena",
        parent: None,
        minute: 70,
        body: "> an 18-month trial\n\nA trial only means something if the council says **in advance** what would count as failure. The motion lists what they will measure (journey times, air quality, shop takings) but not a single threshold. Without one, the 12-month report will say whatever the majority already thinks.",
    },
    Line {
        key: "rosa_thanks",
        author: "rosa",
        parent: Some("maya_bus"),
        minute: 74,
        body: "Thank you, that's a real relief. Might be worth putting it near the top: I doubt I'm the only one who wondered.",
    },
    Line {
        key: "thornbury_wards",
        author: "thornbury",
        parent: None,
        minute: 81,
        body: "Funny how the seven who voted yes all live east of the river, well away from Station Avenue. Draw your own conclusions.",
    },
    Line {
        key: "priya_trial",
        author: "priya",
        parent: Some("lena_criteria"),
        minute: 88,
        body: "Agreed. I support the closure and I'd still like to know what would make them reopen the road. If the answer is \"nothing\", it isn't a trial.",
    },
    Line {
        key: "lena_wards",
        author: "lena",
        parent: Some("thornbury_wards"),
        minute: 95,
        body: "That isn't right. Councillor Pryce and Councillor Obi both live in Millside, which is west of the river, and Councillor Hale, who voted no, lives on the east side. The vote didn't split by ward at all.",
    },
    Line {
        key: "oldmill_what_changed",
        author: "oldmill",
        parent: Some("thornbury_quay"),
        minute: 102,
        body: "That's genuinely useful, thank you. What changed between the first year and the second?",
    },
    Line {
        key: "helen_air",
        author: "helen",
        parent: None,
        minute: 110,
        body: "For context: when Quay Lane closed in 2019, nitrogen dioxide levels on the lane fell by about 30% within a year. That's not nothing next to a primary school.",
    },
    Line {
        key: "thornbury_benches",
        author: "thornbury",
        parent: Some("oldmill_what_changed"),
        minute: 118,
        body: "Honestly? Benches, and the Saturday market moving onto the street. The closure on its own did very little; what the council did with the space afterwards did the work. Which is why I'd watch what they actually build on Riverside Road, not just where they put the bollards.",
    },
    Line {
        key: "helen_evaporation",
        author: "helen",
        parent: Some("bill_somewhere"),
        minute: 126,
        body: "Not all of them go somewhere, though. When road space is taken away, some trips stop happening or move to other times and other ways of travelling; transport researchers call it *traffic evaporation*. There's a readable explainer [here](https://courier.example/explainers/traffic-evaporation). It won't make the Station Avenue queue disappear, but the study's worst case assumes every single trip moves, which is unlikely.",
    },
    Line {
        key: "kwame_motion",
        author: "kwame",
        parent: None,
        minute: 133,
        body: "For anyone who'd rather read the motion than the arguments about it, it's item 7 on Tuesday's agenda: [full text and officers' report](https://courier.example/documents/council-2026-09-01-item-7). The monitoring section starts on page 14.",
    },
    Line {
        key: "rosa_hale",
        author: "rosa",
        parent: None,
        minute: 141,
        body: "Whatever you think of the result, credit to Councillor Hale for saying plainly why he voted no instead of hiding behind \"more consultation is needed\". More of that on both sides, please.",
    },
    Line {
        key: "helen_threshold",
        author: "helen",
        parent: Some("lena_criteria"),
        minute: 150,
        body: "Page 14 of the officers' report (kwame posted the link) does set one: if average peak journey times on Station Avenue rise by more than 25% for three months in a row, officers must bring the trial back to committee. It's only one threshold, though, and there's nothing at all for the shops.",
    },
    Line {
        key: "oldmill_deliveries",
        author: "oldmill",
        parent: None,
        minute: 158,
        body: "Mr Rahimi's flour arrives at eleven; deliveries are only allowed before ten. That's exactly the kind of detail that should have been sorted out *before* the vote. Someone at the council needs to sit down with the Ferry Street suppliers this autumn, not next April.",
    },
    Line {
        key: "lena_eighteen",
        author: "lena",
        parent: None,
        minute: 166,
        body: "On the 18 months: a few people have said it's too long. It's long enough for habits to change, which is the point. A three-month trial would only measure the disruption.",
    },
    Line {
        key: "thornbury_parking",
        author: "thornbury",
        parent: None,
        minute: 175,
        body: "Can we talk about parking? Thirty-eight spaces go, and \"rarely more than two-thirds full\" is a weekday figure. On market Saturdays the Ferry Street car park is full by ten.",
    },
    Line {
        key: "kwame_walk",
        author: "kwame",
        parent: Some("thornbury_parking"),
        minute: 183,
        body: "The Saturday point is fair. Though the car park is a four-minute walk from the river, and nobody complains about walking that far across the retail park.",
    },
    Line {
        key: "lena_misposted",
        author: "lena",
        parent: Some("thornbury_parking"),
        minute: 186,
        body: "Sorry, this was meant for the bus question further up.",
    },
    Line {
        key: "kwame_prediction",
        author: "kwame",
        parent: None,
        minute: 197,
        body: "Prediction: in two years nobody will remember this was ever controversial. Same as Quay Lane.",
    },
    Line {
        key: "bill_prediction",
        author: "bill",
        parent: Some("kwame_prediction"),
        minute: 205,
        body: "Prediction: in two years you'll still be telling us that. Save this comment and we'll compare notes in 2028, Kwame.",
    },
    Line {
        key: "priya_floods",
        author: "priya",
        parent: None,
        minute: 214,
        body: "Something nobody has mentioned: the road already floods two or three times every winter and gets shut for days. What do journey times on Station Avenue look like then? That's a free preview of the closure, and it might be worth asking the council for the data.",
    },
];

/// Dr. Marsh corrects her figure a few minutes after posting it.
const HELEN_AIR_EDITED: &str = "For context: when Quay Lane closed in 2019, nitrogen dioxide levels on the lane fell by about a fifth within a year (the council's 2020 air quality report puts it at 21%). That's not nothing next to a primary school.\n\n*Edit: corrected the figure, I had misremembered it as 30%.*";

/// Who liked what, so the counts vary from none to nearly everyone.
const MAIN_REACTIONS: &[(&str, &[&str])] = &[
    ("bill_detour", &["oldmill", "thornbury", "rosa", "helen"]),
    (
        "priya_school",
        &["kwame", "lena", "helen", "rosa", "oldmill"],
    ),
    ("kwame_path", &["priya", "lena", "helen"]),
    ("rosa_bus", &["priya", "oldmill"]),
    ("bill_somewhere", &["oldmill", "thornbury"]),
    ("oldmill_footfall", &["bill", "thornbury"]),
    (
        "maya_bus",
        &["rosa", "priya", "bill", "oldmill", "lena", "helen", "kwame"],
    ),
    (
        "thornbury_quay",
        &["oldmill", "helen", "lena", "priya", "kwame", "bill"],
    ),
    (
        "lena_criteria",
        &[
            "priya",
            "helen",
            "oldmill",
            "bill",
            "thornbury",
            "rosa",
            "kwame",
        ],
    ),
    ("rosa_thanks", &["priya"]),
    ("priya_trial", &["lena", "helen"]),
    ("lena_wards", &["helen", "priya", "kwame", "rosa"]),
    ("helen_air", &["kwame", "priya", "lena"]),
    ("thornbury_benches", &["oldmill", "lena", "helen", "priya"]),
    ("helen_evaporation", &["kwame", "lena", "priya"]),
    ("kwame_motion", &["lena", "helen"]),
    (
        "rosa_hale",
        &["bill", "oldmill", "thornbury", "helen", "priya"],
    ),
    ("helen_threshold", &["lena", "priya", "kwame"]),
    ("oldmill_deliveries", &["thornbury", "bill", "rosa"]),
    ("lena_eighteen", &["kwame", "helen"]),
    ("thornbury_parking", &["bill", "oldmill"]),
    ("kwame_walk", &["lena"]),
    ("kwame_prediction", &["lena"]),
    (
        "bill_prediction",
        &["oldmill", "thornbury", "rosa", "priya"],
    ),
    ("priya_floods", &["bill", "helen", "rosa"]),
];

/// Picked by the newsroom: one from each side of the argument, and a first-hand account.
const MAIN_FEATURED: &[&str] = &["lena_criteria", "thornbury_quay", "bill_detour"];

// ---- an older story, now closed ----

const LIBRARY_HEADLINE: &str =
    "Hollis Street Library reopens after two-year renovation, with Sunday hours";

const LIBRARY_STANDFIRST: &str = "The 1908 building has a lift, a children's floor and a tool-lending room, and will open seven days a week for the first time in its history.";

const LIBRARY_BODY: &str = "\
*By Tom Reyes*

Hollis Street Library opened its doors again on Saturday morning, two years and £4.2m after it closed for a renovation that ran five months over schedule. A queue had formed by nine, and by lunchtime staff had issued more than 300 new library cards.

Of the cost, £3.1m came from a national heritage grant that could be spent only on restoring the listed building; the council paid for the rest. The work uncovered the original glass ceiling of the reading room, which had been boarded over since the 1960s.

## Something to borrow besides books

The basement now houses a tool-lending room, run with volunteers from the Riverside Repair Café, where members can borrow anything from a drill to a tile cutter for a week. \"People kept asking us for things we didn't have,\" said the branch librarian, Grace Adeyemi. \"Now, more often than not, we do.\"

From June the library will open on Sundays from 11 a.m. to 4 p.m., funded for two years by the trust that runs the Riverside Festival.
";

const LIBRARY_CONVERSATION: &[Line] = &[
    Line {
        key: "lena_children",
        author: "lena",
        parent: None,
        minute: 95,
        body: "Took my daughter on Saturday. The children's floor is lovely, and the staff were remarkably patient with about two hundred overexcited kids.",
    },
    Line {
        key: "bill_pool",
        author: "bill",
        parent: None,
        minute: 180,
        body: "Glad it's open, but £4.2m on a library when the pool on Dock Street has been shut for three years? Priorities.",
    },
    Line {
        key: "helen_grant",
        author: "helen",
        parent: Some("bill_pool"),
        minute: 230,
        body: "Most of that money was a heritage grant that could only be spent on a listed building; it's in the second paragraph. It was never a choice between the library and the pool.",
    },
    Line {
        key: "bill_fair",
        author: "bill",
        parent: Some("helen_grant"),
        minute: 290,
        body: "Fair enough, I missed that. I still want my pool back.",
    },
    Line {
        key: "kwame_tools",
        author: "kwame",
        parent: None,
        minute: 1_460,
        body: "The tool-lending room is a **brilliant** idea. Borrowed a tile cutter yesterday and saved myself about sixty quid.",
    },
    Line {
        key: "rosa_sundays",
        author: "rosa",
        parent: None,
        minute: 2_950,
        body: "Sunday hours at last. Thank you to whoever fought for that.",
    },
];

const LIBRARY_REACTIONS: &[(&str, &[&str])] = &[
    ("lena_children", &["priya", "rosa"]),
    ("bill_pool", &["oldmill"]),
    ("helen_grant", &["lena", "kwame", "priya", "thornbury"]),
    ("bill_fair", &["helen", "rosa", "oldmill"]),
    ("kwame_tools", &["lena", "thornbury"]),
    ("rosa_sundays", &["priya", "lena", "helen"]),
];

// ---- a short, open story with no comments yet ----

const WEATHER_HEADLINE: &str = "Dry, bright weekend ahead before rain returns on Monday";

const WEATHER_STANDFIRST: &str =
    "Expect highs of 22C on Saturday and a chilly, misty start by the river on Sunday.";

const WEATHER_BODY: &str = "\
High pressure settling over the region should keep the weekend dry, with long sunny spells on Saturday and temperatures reaching 22C in the afternoon.

Clear skies overnight mean a cold start on Sunday, down to 7C, with mist lingering along the river until mid-morning. Anyone heading to the rowing club's open day is advised to bring a layer.

A band of rain is expected to arrive from the west early on Monday, in time for the school run.
";

pub async fn seed(store: &dyn Store) -> Result<String> {
    if store.site_by_name(SITE).await?.is_some() {
        let ids = loaded_story_ids(store).await?;
        return Ok(summary("demo content already loaded", ids));
    }

    let origins: Vec<String> = ORIGINS.iter().map(|o| (*o).to_owned()).collect();
    let site = store
        .create_site(SITE, &origins, SITE_CREATED)
        .await
        .context("creating the demo site")?;

    // One slow hash, shared by every demo account.
    let hash = parley_web::auth::hash_password(PASSWORD.to_owned())
        .await
        .map_err(|e| anyhow!("{e:?}"))?;
    let mut users: HashMap<&'static str, i64> = HashMap::new();
    for (i, person) in (0_i64..).zip(PEOPLE) {
        let email = Email::parse(person.email)?;
        let name = DisplayName::parse(person.name)?;
        let user = store
            .create_user(NewUser {
                site_id: site.id,
                email: email.as_str().to_owned(),
                display_name: name.as_str().to_owned(),
                password_hash: Some(hash.clone()),
                role: person.role,
                now: SITE_CREATED + i * 3 * DAY,
            })
            .await
            .with_context(|| format!("creating the demo account {}", person.email))?;
        // Demo addresses are made up: treat them as confirmed, so the account page
        // and notifications show what a confirmed reader sees.
        store
            .account_mail()
            .mark_email_verified(user.id, SITE_CREATED + i * 3 * DAY)
            .await
            .map_err(|e| anyhow!("{e:?}"))?;
        users.insert(person.key, user.id);
    }
    let staff = user_id(&users, STAFF)?;

    // The main story first, so that a fresh database gives it id 1.
    let main_fields = StoryFields {
        url: MAIN_URL.into(),
        slug: slugify(MAIN_HEADLINE),
        headline: MAIN_HEADLINE.into(),
        standfirst: MAIN_STANDFIRST.into(),
        body_md: MAIN_BODY.into(),
        published_at: MAIN_PUBLISHED,
        picture_url: Some("/assets/demo/riverside-road.svg".into()),
        picture_caption: Some(MAIN_CAPTION.into()),
        picture_credit: Some("COURIER PHOTO DESK".into()),
        is_closed: false,
        closed_message: None,
    };
    let main = create_story(store, site.id, main_fields, MAIN_PUBLISHED - 10 * MINUTE).await?;

    let library_fields = StoryFields {
        url: LIBRARY_URL.into(),
        slug: slugify(LIBRARY_HEADLINE),
        headline: LIBRARY_HEADLINE.into(),
        standfirst: LIBRARY_STANDFIRST.into(),
        body_md: LIBRARY_BODY.into(),
        published_at: LIBRARY_PUBLISHED,
        picture_url: Some("/assets/demo/library.svg".into()),
        picture_caption: Some(
            "The restored reading room, with its original glass ceiling uncovered.".into(),
        ),
        picture_credit: Some("COURIER PHOTO DESK".into()),
        is_closed: false,
        closed_message: None,
    };
    let library = create_story(
        store,
        site.id,
        library_fields,
        LIBRARY_PUBLISHED - 10 * MINUTE,
    )
    .await?;

    let weather_fields = StoryFields {
        url: WEATHER_URL.into(),
        slug: slugify(WEATHER_HEADLINE),
        headline: WEATHER_HEADLINE.into(),
        standfirst: WEATHER_STANDFIRST.into(),
        body_md: WEATHER_BODY.into(),
        published_at: WEATHER_PUBLISHED,
        picture_url: None,
        picture_caption: None,
        picture_credit: None,
        is_closed: false,
        closed_message: None,
    };
    let weather = create_story(
        store,
        site.id,
        weather_fields,
        WEATHER_PUBLISHED - 10 * MINUTE,
    )
    .await?;

    // ---- the main conversation ----
    let comments = post_all(store, &main, MAIN_CONVERSATION, &users).await?;
    let at = |minutes: i64| MAIN_PUBLISHED + minutes * MINUTE;

    // Dr. Marsh corrects her figure seven minutes after posting.
    store
        .edit_comment(CommentEdit {
            comment_id: comment_id(&comments, "helen_air")?,
            editor_id: user_id(&users, "helen")?,
            body_src: HELEN_AIR_EDITED.into(),
            body_html: markdown::render_comment(HELEN_AIR_EDITED),
            window_ms: i64::MAX / 4,
            now: at(117),
        })
        .await
        .context("editing a demo comment")?;

    react_all(store, &comments, MAIN_REACTIONS, &users, at(240)).await?;

    for (i, key) in (0_i64..).zip(MAIN_FEATURED) {
        store
            .set_featured(comment_id(&comments, key)?, true, staff, at(250 + i))
            .await
            .with_context(|| format!("featuring the demo comment {key}"))?;
    }

    // J. Thornbury thinks better of his remark after Lena Fischer's reply: the comment
    // becomes a tombstone that keeps her reply in place.
    store
        .delete_comment(
            comment_id(&comments, "thornbury_wards")?,
            user_id(&users, "thornbury")?,
            at(131),
        )
        .await
        .context("deleting a demo comment")?;
    // Lena Fischer removes a reply she posted in the wrong place; nothing hangs off it,
    // so it leaves the thread entirely.
    store
        .delete_comment(
            comment_id(&comments, "lena_misposted")?,
            user_id(&users, "lena")?,
            at(188),
        )
        .await
        .context("deleting a demo comment")?;

    // The reporter adds the answer to Rosa Delgado's question to the story itself.
    let mut updated = main.fields.clone();
    updated.body_md = format!("{}{MAIN_UPDATE_NOTE}", main.fields.body_md);
    let html = markdown::render_story(&updated.body_md);
    store
        .update_story(main.id, updated, html, at(260))
        .await
        .context("updating the demo story")?;

    // ---- the library story: a short conversation, then closed ----
    let library_comments = post_all(store, &library, LIBRARY_CONVERSATION, &users).await?;
    react_all(
        store,
        &library_comments,
        LIBRARY_REACTIONS,
        &users,
        LIBRARY_PUBLISHED + 3 * DAY,
    )
    .await?;
    let mut closed = library.fields.clone();
    closed.is_closed = true;
    closed.closed_message = Some(CLOSED_MESSAGE.into());
    store
        .update_story(
            library.id,
            closed,
            library.body_html.clone(),
            LIBRARY_CLOSED,
        )
        .await
        .context("closing the demo library story")?;

    Ok(summary(
        "demo content loaded",
        Some((main.id, library.id, weather.id)),
    ))
}

async fn create_story(
    store: &dyn Store,
    site_id: i64,
    fields: StoryFields,
    now: i64,
) -> Result<Story> {
    let html = markdown::render_story(&fields.body_md);
    let url = fields.url.clone();
    store
        .create_story(site_id, fields, html, now)
        .await
        .with_context(|| format!("creating the demo story {url}"))
}

/// Posts a scripted conversation in order; returns the comment ids by script key.
async fn post_all(
    store: &dyn Store,
    story: &Story,
    lines: &[Line],
    users: &HashMap<&'static str, i64>,
) -> Result<HashMap<&'static str, i64>> {
    let mut ids: HashMap<&'static str, i64> = HashMap::new();
    for line in lines {
        let parent_id = match line.parent {
            Some(key) => Some(comment_id(&ids, key)?),
            None => None,
        };
        let comment = store
            .create_comment(NewComment {
                story_id: story.id,
                author_id: user_id(users, line.author)?,
                parent_id,
                body_src: line.body.to_owned(),
                body_html: markdown::render_comment(line.body),
                max_depth: MAX_DEPTH,
                now: story.fields.published_at + line.minute * MINUTE,
            })
            .await
            .with_context(|| format!("posting the demo comment {}", line.key))?;
        ids.insert(line.key, comment.id);
    }
    Ok(ids)
}

/// Adds the listed reactions, a second apart from `start`. Nobody reacts to their own
/// comment, so such pairs in the list are skipped.
async fn react_all(
    store: &dyn Store,
    comments: &HashMap<&'static str, i64>,
    reactions: &[(&str, &[&str])],
    users: &HashMap<&'static str, i64>,
    start: i64,
) -> Result<()> {
    let mut now = start;
    for (comment, people) in reactions {
        let id = comment_id(comments, comment)?;
        let author = store
            .comment_by_id(id)
            .await?
            .and_then(|c| c.author_id)
            .with_context(|| format!("the demo comment {comment} has no author"))?;
        for person in *people {
            let user = user_id(users, person)?;
            if user == author {
                continue;
            }
            now += 1_000;
            store
                .add_reaction(id, user, now)
                .await
                .with_context(|| format!("{person} reacting to the demo comment {comment}"))?;
        }
    }
    Ok(())
}

fn user_id(users: &HashMap<&'static str, i64>, key: &str) -> Result<i64> {
    users
        .get(key)
        .copied()
        .with_context(|| format!("no demo account {key}"))
}

fn comment_id(comments: &HashMap<&'static str, i64>, key: &str) -> Result<i64> {
    comments
        .get(key)
        .copied()
        .with_context(|| format!("no demo comment {key}"))
}

/// The ids of the three demo stories, when all are there.
async fn loaded_story_ids(store: &dyn Store) -> Result<Option<(i64, i64, i64)>> {
    let Some(site) = store.site_by_name(SITE).await? else {
        return Ok(None);
    };
    let main = store.story_by_url(site.id, MAIN_URL).await?;
    let library = store.story_by_url(site.id, LIBRARY_URL).await?;
    let weather = store.story_by_url(site.id, WEATHER_URL).await?;
    Ok(match (main, library, weather) {
        (Some(m), Some(l), Some(w)) => Some((m.id, l.id, w.id)),
        _ => None,
    })
}

/// One line naming the URL paths and accounts to try.
fn summary(what: &str, ids: Option<(i64, i64, i64)>) -> String {
    let stories = match ids {
        Some((main, library, weather)) => format!(
            "; conversation /api/v1/stories/{main}/comments (featured: /api/v1/stories/{main}/featured), \
             closed story /api/v1/stories/{library}/comments, no comments yet /api/v1/stories/{weather}/comments"
        ),
        None => String::new(),
    };
    format!(
        "{what}: site {SITE} (The Riverside Courier), stories /api/v1/stories?site={SITE}{stories}; \
         sign in as reader@demo.parley / {PASSWORD} (same password for staff@demo.parley, \
         moderator@demo.parley, admin@demo.parley and readers bill@, helen@, kwame@, rosa@, \
         oldmill@, thornbury@, lena@demo.parley)"
    )
}
