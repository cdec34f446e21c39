//! Names for synthetic people and places. The town, its PCN and practices are fictional.

use careweave_domain::Sex;

/// The fictional town the default neighbourhood lies in.
pub(crate) const TOWN: &str = "Kelderby";

const PCN_NAMES: [&str; 8] = [
    "North",
    "East",
    "South",
    "West",
    "Central",
    "Riverside",
    "Hillside",
    "Valley",
];

/// The name of the `i`th PCN.
pub(crate) fn pcn_name(i: usize) -> String {
    let base = PCN_NAMES[i % PCN_NAMES.len()];
    if i < PCN_NAMES.len() {
        format!("{TOWN} {base} PCN")
    } else {
        format!("{TOWN} {base} {} PCN", i / PCN_NAMES.len() + 1)
    }
}

const PRACTICE_NAMES: [&str; 14] = [
    "Fir Vale Road Surgery",
    "Parkside Medical Centre",
    "Brightmoor Health Centre",
    "Canal Street Practice",
    "Grange Lane Surgery",
    "Oakwood Family Practice",
    "The Mill Medical Practice",
    "Shiregreen View Surgery",
    "Ashfield Road Health Centre",
    "Burngreave Common Practice",
    "Station Road Surgery",
    "Wincobank Medical Centre",
    "Norwood Group Practice",
    "Kelder Valley Surgery",
];

/// The name of the `i`th practice.
pub(crate) fn practice_name(i: usize) -> String {
    let base = PRACTICE_NAMES[i % PRACTICE_NAMES.len()];
    if i < PRACTICE_NAMES.len() {
        base.to_owned()
    } else {
        format!("{base} ({})", i / PRACTICE_NAMES.len() + 1)
    }
}

struct Group {
    female: &'static [&'static str],
    male: &'static [&'static str],
    family: &'static [&'static str],
}

const GROUPS: [Group; 4] = [
    Group {
        female: &[
            "Olivia",
            "Amelia",
            "Isla",
            "Ava",
            "Emily",
            "Sophie",
            "Grace",
            "Lily",
            "Chloe",
            "Ella",
            "Mia",
            "Jessica",
            "Sarah",
            "Emma",
            "Claire",
            "Joanne",
            "Karen",
            "Susan",
            "Margaret",
            "Patricia",
            "Jean",
            "Barbara",
            "Doreen",
            "Kathleen",
            "Anna",
            "Agnieszka",
            "Zuzana",
            "Maria",
        ],
        male: &[
            "Oliver", "George", "Harry", "Noah", "Jack", "Leo", "Charlie", "Jacob", "Thomas",
            "James", "Daniel", "Matthew", "Paul", "Mark", "David", "Stephen", "Gary", "Andrew",
            "John", "Peter", "Michael", "Brian", "Kenneth", "Ronald", "Tomasz", "Piotr", "Marek",
            "Lukas",
        ],
        family: &[
            "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
            "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green",
            "Hall", "Wood", "Jackson", "Clarke", "Hughes", "Turner", "Hill", "Cooper", "Ward",
            "Marshall", "Shaw", "Barker", "Booth", "Kowalski", "Nowak", "Horvath", "Murphy",
            "Kelly", "Campbell", "Stewart",
        ],
    },
    Group {
        female: &[
            "Aisha", "Fatima", "Zara", "Maryam", "Ayesha", "Hafsa", "Sana", "Nadia", "Samina",
            "Shabana", "Priya", "Anjali", "Sunita", "Nasreen", "Rukhsana", "Parveen", "Amina",
            "Iqra",
        ],
        male: &[
            "Muhammad", "Ali", "Hassan", "Ibrahim", "Yusuf", "Zain", "Bilal", "Imran", "Tariq",
            "Asif", "Arjun", "Rajesh", "Sanjay", "Abdul", "Shahid", "Kamran", "Rizwan", "Adil",
        ],
        family: &[
            "Khan", "Hussain", "Ahmed", "Ali", "Begum", "Rahman", "Iqbal", "Akhtar", "Mahmood",
            "Bibi", "Patel", "Sharma", "Singh", "Kaur", "Miah", "Uddin", "Shah", "Malik", "Butt",
            "Rashid",
        ],
    },
    Group {
        female: &[
            "Abena", "Amara", "Chidinma", "Grace", "Blessing", "Faith", "Esther", "Naomi", "Hodan",
            "Fadumo", "Kemi", "Marcia", "Simone", "Yvonne", "Precious", "Ruth",
        ],
        male: &[
            "Kwame", "Emmanuel", "Samuel", "Chinedu", "Tunde", "Kofi", "Daniel", "Joseph", "Abdi",
            "Mohamed", "Delroy", "Winston", "Marcus", "Tendai", "Isaac", "Michael",
        ],
        family: &[
            "Mensah", "Okafor", "Adeyemi", "Osei", "Boateng", "Nwosu", "Abdi", "Farah", "Mohamud",
            "Campbell", "Brown", "Williams", "Francis", "Grant", "Moyo", "Banda", "Okoro",
            "Asante",
        ],
    },
    Group {
        female: &[
            "Layla", "Noor", "Huda", "Rania", "Wei", "Mei", "Li", "Hui", "Yasmin", "Salma", "Dina",
            "Lina",
        ],
        male: &[
            "Omar", "Ahmad", "Karim", "Samir", "Wei", "Jun", "Hao", "Ming", "Khalid", "Youssef",
            "Tarek", "Ziad",
        ],
        family: &[
            "Al-Sayed", "Haddad", "Nasser", "Saleh", "Chen", "Wang", "Li", "Zhang", "Liu", "Yusuf",
            "Hamid", "Aziz",
        ],
    },
];

/// The naming group of an ethnic category index (see [`crate::population::ETHNIC_CATEGORIES`]).
pub(crate) fn group_of(ethnicity: u8) -> u8 {
    match ethnicity {
        7..=10 => 1,
        11..=13 => 2,
        14 | 15 => 3,
        _ => 0,
    }
}

pub(crate) fn family_count(group: u8) -> usize {
    GROUPS[usize::from(group)].family.len()
}

pub(crate) fn given_count(group: u8, sex: Sex) -> usize {
    let g = &GROUPS[usize::from(group)];
    if sex == Sex::Female {
        g.female.len()
    } else {
        g.male.len()
    }
}

pub(crate) fn given(group: u8, sex: Sex, i: u16) -> &'static str {
    let g = &GROUPS[usize::from(group)];
    let list = if sex == Sex::Female { g.female } else { g.male };
    list[usize::from(i) % list.len()]
}

pub(crate) fn family(group: u8, i: u16) -> &'static str {
    let list = GROUPS[usize::from(group)].family;
    list[usize::from(i) % list.len()]
}
