"""Citizen-facing wording on the ballot, per language.

Plain language, short sentences (B1 level). German is the reference; every other
language carries the same keys. Placeholders use str.format names.
"""

from __future__ import annotations

from datetime import date

from hybrid.errors import InvalidInput

BALLOT_TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "ballot": "Stimmzettel",
        "your_code": "Ihr persönlicher Code",
        "serial": "Nr.",
        "how_to": "So stimmen Sie ab",
        "mark_rule": "Machen Sie ein deutliches Kreuz in das Kästchen Ihrer Wahl. Bitte Kugelschreiber benutzen, keinen Bleistift.",
        "example_valid": "So ist es richtig.",
        "example_cancel": "Versehen? Füllen Sie das Kästchen ganz aus. Dann zählt es nicht.",
        "choose_one": "Kreuzen Sie 1 Antwort an.",
        "choose_up_to": "Sie können bis zu {n} Antworten ankreuzen.",
        "budget_knapsack": "Kreuzen Sie die Vorschläge an, die die Stadt umsetzen soll. Zusammen dürfen sie höchstens {amount} kosten. Sonst ist Ihr Stimmzettel ungültig.",
        "budget_approval": "Kreuzen Sie bis zu {n} Vorschläge an, die die Stadt umsetzen soll.",
        "budget_total": "Verfügbares Geld: {amount}",
        "return_to": "Bitte bis {date} zurückschicken an:",
        "return_to_nodate": "Bitte zurückschicken an:",
        "page_of": "Seite {n} von {total}",
        "all_pages": "Bitte alle Seiten zusammen zurückschicken. Nicht knicken.",
        "continued": "Fortsetzung",
        "other_ways": "Lieber per SMS oder Telefon abstimmen?",
        "sms_how": "Schicken Sie eine SMS an {number}. Schreiben Sie Ihren Code und die Nummern Ihrer Wahl, zum Beispiel:",
        "voice_how": "Oder rufen Sie {number} an. Geben Sie Ihren Code über die Tasten ein und folgen Sie der Ansage.",
        "once_only": "Ihr Code gilt nur einmal: per Post, per SMS oder am Telefon. Geben Sie ihn nicht weiter.",
        "privacy_title": "Datenschutz (Art. 13 DSGVO)",
        "privacy": (
            "Verantwortlich: {controller}. Zweck: Durchführung der Beteiligung „{title}“; "
            "Rechtsgrundlage: Art. 6 Abs. 1 lit. e DSGVO. Der Code auf diesem Stimmzettel ist nicht mit Ihrem "
            "Namen oder Ihrer Anschrift gespeichert. Bei SMS und Anruf speichern wir Ihre Telefonnummer nur als "
            "verschlüsselten Prüfwert. Nachrichten, Prüfwerte und Scans werden {days} Tage nach Ende der "
            "Beteiligung gelöscht; das Ergebnis enthält keine persönlichen Daten. Sie haben das Recht auf Auskunft, "
            "Berichtigung, Löschung und Einschränkung sowie auf Beschwerde bei der Datenschutz-Aufsichtsbehörde."
        ),
        "back_note": "Diese Seite wird nicht ausgewertet.",
        "test_mark": "MUSTER – TESTSTIMMZETTEL – UNGÜLTIG",
        "comment_hint": "Bitte schreiben Sie keine Namen, Adressen oder Telefonnummern.",
    },
    "en": {
        "ballot": "Ballot paper",
        "your_code": "Your personal code",
        "serial": "No.",
        "how_to": "How to vote",
        "mark_rule": "Put a clear cross in the box of your choice. Please use a pen, not a pencil.",
        "example_valid": "This is right.",
        "example_cancel": "Made a mistake? Fill the box completely. Then it does not count.",
        "choose_one": "Choose 1 answer.",
        "choose_up_to": "You can choose up to {n} answers.",
        "budget_knapsack": "Choose the proposals the city should carry out. Together they may cost at most {amount}. Otherwise your ballot is not valid.",
        "budget_approval": "Choose up to {n} proposals the city should carry out.",
        "budget_total": "Money available: {amount}",
        "return_to": "Please send back by {date} to:",
        "return_to_nodate": "Please send back to:",
        "page_of": "Page {n} of {total}",
        "all_pages": "Please send all pages back together. Do not fold.",
        "continued": "continued",
        "other_ways": "Would you rather vote by text message or phone?",
        "sms_how": "Send a text message to {number}. Write your code and the numbers of your choices, for example:",
        "voice_how": "Or call {number}. Type your code on the keypad and follow the instructions.",
        "once_only": "Your code works once only: by post, by text message or by phone. Do not pass it on.",
        "privacy_title": "Data protection (Art. 13 GDPR)",
        "privacy": (
            "Controller: {controller}. Purpose: running the participation \"{title}\"; legal basis: "
            "Art. 6(1)(e) GDPR. The code on this ballot is not stored with your name or address. For text "
            "messages and calls we keep your phone number only as an encrypted check value. Messages, check "
            "values and scans are deleted {days} days after the participation ends; the result holds no personal "
            "data. You have the right to access, correction, deletion and restriction, and to complain to the "
            "data protection supervisory authority."
        ),
        "back_note": "This page is not counted.",
        "test_mark": "SPECIMEN – TEST BALLOT – NOT VALID",
        "comment_hint": "Please do not write names, addresses or phone numbers.",
    },
    "tr": {
        "ballot": "Oy pusulası",
        "your_code": "Kişisel kodunuz",
        "serial": "No.",
        "how_to": "Nasıl oy verilir",
        "mark_rule": "Seçtiğiniz kutuya belirgin bir çarpı koyun. Lütfen kurşun kalem değil, tükenmez kalem kullanın.",
        "example_valid": "Doğrusu böyle.",
        "example_cancel": "Yanlış mı işaretlediniz? Kutuyu tamamen doldurun. O zaman sayılmaz.",
        "choose_one": "1 cevap seçin.",
        "choose_up_to": "En fazla {n} cevap seçebilirsiniz.",
        "budget_knapsack": "Belediyenin gerçekleştirmesini istediğiniz önerileri seçin. Toplamları en fazla {amount} olabilir. Aksi halde oy pusulanız geçersizdir.",
        "budget_approval": "Belediyenin gerçekleştirmesini istediğiniz en fazla {n} öneriyi seçin.",
        "budget_total": "Kullanılabilir para: {amount}",
        "return_to": "Lütfen {date} tarihine kadar şu adrese gönderin:",
        "return_to_nodate": "Lütfen şu adrese gönderin:",
        "page_of": "Sayfa {n} / {total}",
        "all_pages": "Lütfen tüm sayfaları birlikte gönderin. Katlamayın.",
        "continued": "devamı",
        "other_ways": "SMS veya telefonla oy vermeyi mi tercih edersiniz?",
        "sms_how": "{number} numarasına SMS gönderin. Kodunuzu ve seçtiğiniz numaraları yazın, örneğin:",
        "voice_how": "Veya {number} numarasını arayın. Kodunuzu tuşlayın ve anonsu takip edin.",
        "once_only": "Kodunuz yalnızca bir kez geçerlidir: posta, SMS veya telefonla. Kimseye vermeyin.",
        "privacy_title": "Veri koruma (GDPR md. 13)",
        "privacy": (
            "Sorumlu: {controller}. Amaç: \"{title}\" katılımının yürütülmesi; hukuki dayanak: GDPR md. 6(1)(e). "
            "Bu oy pusulasındaki kod adınız veya adresinizle birlikte saklanmaz. SMS ve aramalarda telefon "
            "numaranızı yalnızca şifreli bir kontrol değeri olarak saklarız. Mesajlar, kontrol değerleri ve "
            "taramalar katılım bittikten {days} gün sonra silinir; sonuç kişisel veri içermez. Bilgi alma, "
            "düzeltme, silme, kısıtlama ve denetim makamına şikâyet hakkınız vardır."
        ),
        "back_note": "Bu sayfa değerlendirilmez.",
        "test_mark": "ÖRNEK – TEST OY PUSULASI – GEÇERSİZ",
        "comment_hint": "Lütfen isim, adres veya telefon numarası yazmayın.",
    },
    "ru": {
        "ballot": "Бюллетень",
        "your_code": "Ваш личный код",
        "serial": "№",
        "how_to": "Как голосовать",
        "mark_rule": "Поставьте чёткий крестик в клетке вашего выбора. Пожалуйста, пишите ручкой, а не карандашом.",
        "example_valid": "Так правильно.",
        "example_cancel": "Ошиблись? Закрасьте клетку полностью. Тогда она не считается.",
        "choose_one": "Выберите 1 ответ.",
        "choose_up_to": "Можно выбрать до {n} ответов.",
        "budget_knapsack": "Отметьте предложения, которые город должен выполнить. Вместе они могут стоить не более {amount}. Иначе бюллетень недействителен.",
        "budget_approval": "Отметьте до {n} предложений, которые город должен выполнить.",
        "budget_total": "Доступные средства: {amount}",
        "return_to": "Пожалуйста, отправьте до {date} по адресу:",
        "return_to_nodate": "Пожалуйста, отправьте по адресу:",
        "page_of": "Страница {n} из {total}",
        "all_pages": "Пожалуйста, отправьте все страницы вместе. Не сгибайте.",
        "continued": "продолжение",
        "other_ways": "Хотите проголосовать по SMS или по телефону?",
        "sms_how": "Отправьте SMS на номер {number}. Напишите ваш код и номера вашего выбора, например:",
        "voice_how": "Или позвоните по номеру {number}. Введите код на клавиатуре и следуйте указаниям.",
        "once_only": "Код действует только один раз: по почте, по SMS или по телефону. Никому его не передавайте.",
        "privacy_title": "Защита данных (ст. 13 GDPR)",
        "privacy": (
            "Ответственный: {controller}. Цель: проведение участия «{title}»; правовое основание: ст. 6(1)(e) "
            "GDPR. Код на этом бюллетене не хранится вместе с вашим именем или адресом. При SMS и звонке мы "
            "храним ваш номер телефона только как зашифрованное контрольное значение. Сообщения, контрольные "
            "значения и сканы удаляются через {days} дней после окончания участия; результат не содержит "
            "персональных данных. Вы имеете право на информацию, исправление, удаление, ограничение и жалобу "
            "в надзорный орган по защите данных."
        ),
        "back_note": "Эта страница не учитывается.",
        "test_mark": "ОБРАЗЕЦ – ТЕСТОВЫЙ БЮЛЛЕТЕНЬ – НЕДЕЙСТВИТЕЛЕН",
        "comment_hint": "Пожалуйста, не пишите имена, адреса или номера телефонов.",
    },
    "uk": {
        "ballot": "Бюлетень",
        "your_code": "Ваш особистий код",
        "serial": "№",
        "how_to": "Як голосувати",
        "mark_rule": "Поставте чіткий хрестик у клітинці вашого вибору. Будь ласка, пишіть ручкою, а не олівцем.",
        "example_valid": "Так правильно.",
        "example_cancel": "Помилилися? Зафарбуйте клітинку повністю. Тоді вона не рахується.",
        "choose_one": "Виберіть 1 відповідь.",
        "choose_up_to": "Можна вибрати до {n} відповідей.",
        "budget_knapsack": "Позначте пропозиції, які місто має виконати. Разом вони можуть коштувати не більше {amount}. Інакше бюлетень недійсний.",
        "budget_approval": "Позначте до {n} пропозицій, які місто має виконати.",
        "budget_total": "Доступні кошти: {amount}",
        "return_to": "Будь ласка, надішліть до {date} за адресою:",
        "return_to_nodate": "Будь ласка, надішліть за адресою:",
        "page_of": "Сторінка {n} з {total}",
        "all_pages": "Будь ласка, надішліть усі сторінки разом. Не згинайте.",
        "continued": "продовження",
        "other_ways": "Бажаєте проголосувати через SMS або телефоном?",
        "sms_how": "Надішліть SMS на номер {number}. Напишіть ваш код і номери вашого вибору, наприклад:",
        "voice_how": "Або зателефонуйте на номер {number}. Введіть код на клавіатурі й дотримуйтеся вказівок.",
        "once_only": "Код дійсний лише один раз: поштою, через SMS або телефоном. Нікому його не передавайте.",
        "privacy_title": "Захист даних (ст. 13 GDPR)",
        "privacy": (
            "Відповідальний: {controller}. Мета: проведення участі «{title}»; правова підстава: ст. 6(1)(e) GDPR. "
            "Код на цьому бюлетені не зберігається разом з вашим ім'ям чи адресою. Для SMS і дзвінків ми "
            "зберігаємо ваш номер телефону лише як зашифроване контрольне значення. Повідомлення, контрольні "
            "значення та скани видаляються через {days} днів після завершення участі; результат не містить "
            "персональних даних. Ви маєте право на інформацію, виправлення, видалення, обмеження та скаргу до "
            "наглядового органу із захисту даних."
        ),
        "back_note": "Ця сторінка не враховується.",
        "test_mark": "ЗРАЗОК – ТЕСТОВИЙ БЮЛЕТЕНЬ – НЕДІЙСНИЙ",
        "comment_hint": "Будь ласка, не пишіть імен, адрес чи номерів телефонів.",
    },
}

_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")


def texts_for(lang: str) -> dict[str, str]:
    """The ballot wording for `lang`; a language without wording is refused by name."""
    if lang not in BALLOT_TEXTS:
        raise InvalidInput(
            f"no printed ballot wording for language {lang!r}; available: {', '.join(sorted(BALLOT_TEXTS))}"
        )
    return BALLOT_TEXTS[lang]


def format_money(amount: int, lang: str) -> str:
    """45000 → '45.000 €' (de and most), '€45,000' (en)."""
    grouped = f"{amount:,}"
    if lang == "en":
        return f"€{grouped}"
    separator = " " if lang in {"ru", "uk"} else "."
    return f"{grouped.replace(',', separator)} €"


def format_date(day: date, lang: str) -> str:
    if lang == "en":
        return f"{day.day} {_MONTHS_EN[day.month - 1]} {day.year}"
    return f"{day.day:02d}.{day.month:02d}.{day.year}"
