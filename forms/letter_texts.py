"""Wording of the cover letter, per language (plain language, like the ballot)."""

from __future__ import annotations

from hybrid.errors import InvalidInput

LETTER_TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "letter": "Anschreiben",
        "subject": "Ihr Stimmzettel: {title}",
        "greeting": "Guten Tag,",
        "intro": "Sie können bei „{title}“ mitmachen – auch ohne Internet. In diesem Umschlag ist Ihr "
                 "Stimmzettel. So geht es:",
        "step_mark": "Kreuzen Sie auf dem Stimmzettel an, was Sie wählen.",
        "step_envelope": "Legen Sie nur den Stimmzettel in den Rückumschlag, nicht diesen Brief. Auf diesem Brief "
                         "steht Ihre Adresse, auf dem Stimmzettel nicht: So bleibt Ihre Stimme geheim.",
        "step_send_by": "Schicken Sie den Stimmzettel bis {date} zurück.",
        "step_send": "Schicken Sie den Stimmzettel zurück.",
        "step_phone": "Lieber per SMS oder Telefon? Das geht vom {opens} bis {last}. Wie, steht auf dem "
                      "Stimmzettel; Ihren Code finden Sie oben rechts auf dem Stimmzettel. Der Code gilt nur einmal.",
        "closing": "Vielen Dank, dass Sie mitmachen!",
        "keep_letter": "Diesen Brief bitte behalten. Die Hinweise zum Datenschutz stehen auf der Rückseite.",
    },
    "en": {
        "letter": "Cover letter",
        "subject": "Your ballot paper: {title}",
        "greeting": "Hello,",
        "intro": "You can take part in \u201c{title}\u201d \u2013 without the internet too. Your ballot paper is "
                 "in this envelope. This is how it works:",
        "step_mark": "Put your crosses on the ballot paper.",
        "step_envelope": "Put only the ballot paper into the return envelope, not this letter. This letter has your "
                         "address on it, the ballot paper does not: that keeps your vote secret.",
        "step_send_by": "Send the ballot paper back by {date}.",
        "step_send": "Send the ballot paper back.",
        "step_phone": "Rather by text message or phone? You can from {opens} to {last}. The ballot paper says "
                      "how; your code is at the top right of the ballot paper. The code works once only.",
        "closing": "Thank you for taking part!",
        "keep_letter": "Please keep this letter. The data-protection notice is on the back.",
    },
    "tr": {
        "letter": "Ön yazı",
        "subject": "Oy pusulanız: {title}",
        "greeting": "Merhaba,",
        "intro": "\u201c{title}\u201d katılımına internet olmadan da katılabilirsiniz. Oy pusulanız bu zarfın "
                 "içindedir. Şöyle yapılır:",
        "step_mark": "Oy pusulasında seçtiklerinizi işaretleyin.",
        "step_envelope": "Dönüş zarfına bu mektubu değil, yalnızca oy pusulasını koyun. Adresiniz bu mektupta "
                         "yazılıdır, oy pusulasında değil: böylece oyunuz gizli kalır.",
        "step_send_by": "Oy pusulasını {date} tarihine kadar geri gönderin.",
        "step_send": "Oy pusulasını geri gönderin.",
        "step_phone": "SMS veya telefonla mı? {opens} ile {last} arasında mümkündür. Nasıl yapılacağı oy "
                      "pusulasında yazılıdır; kodunuz oy pusulasının sağ üstündedir. Kod yalnızca bir kez geçerlidir.",
        "closing": "Katılımınız için teşekkür ederiz!",
        "keep_letter": "Lütfen bu mektubu saklayın. Veri koruma bilgileri arka sayfadadır.",
    },
    "ru": {
        "letter": "Сопроводительное письмо",
        "subject": "Ваш бюллетень: {title}",
        "greeting": "Здравствуйте!",
        "intro": "Вы можете участвовать в «{title}» – и без интернета. Ваш бюллетень в этом конверте. "
                 "Как это сделать:",
        "step_mark": "Отметьте в бюллетене ваш выбор.",
        "step_envelope": "Вложите в обратный конверт только бюллетень, а не это письмо. На письме указан ваш "
                         "адрес, на бюллетене – нет: так ваш голос остаётся тайным.",
        "step_send_by": "Отправьте бюллетень обратно до {date}.",
        "step_send": "Отправьте бюллетень обратно.",
        "step_phone": "Удобнее по SMS или телефону? Это возможно с {opens} по {last}. Как – написано в "
                      "бюллетене; ваш код – вверху справа на бюллетене. Код действует только один раз.",
        "closing": "Спасибо за участие!",
        "keep_letter": "Пожалуйста, сохраните это письмо. Сведения о защите данных – на обороте.",
    },
    "uk": {
        "letter": "Супровідний лист",
        "subject": "Ваш бюлетень: {title}",
        "greeting": "Добрий день!",
        "intro": "Ви можете взяти участь у «{title}» – і без інтернету. Ваш бюлетень у цьому конверті. "
                 "Як це зробити:",
        "step_mark": "Позначте в бюлетені ваш вибір.",
        "step_envelope": "Вкладіть у зворотний конверт лише бюлетень, а не цей лист. На листі вказано вашу "
                         "адресу, на бюлетені – ні: так ваш голос залишається таємним.",
        "step_send_by": "Надішліть бюлетень назад до {date}.",
        "step_send": "Надішліть бюлетень назад.",
        "step_phone": "Зручніше через SMS або телефоном? Це можливо з {opens} до {last}. Як – написано в "
                      "бюлетені; ваш код – угорі праворуч на бюлетені. Код дійсний лише один раз.",
        "closing": "Дякуємо за участь!",
        "keep_letter": "Будь ласка, збережіть цей лист. Відомості про захист даних – на звороті.",
    },
}


def letter_texts_for(lang: str) -> dict[str, str]:
    if lang not in LETTER_TEXTS:
        raise InvalidInput(f"no cover-letter wording for language {lang!r}; available: {', '.join(sorted(LETTER_TEXTS))}")
    return LETTER_TEXTS[lang]
